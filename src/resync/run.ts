import type pg from 'pg';
import { wrapPgError } from '../db/pgError.js';
import { backoffMs, sleep } from '../db/retry.js';
import {
  acquireAdvisoryLock,
  advisoryLockHolder,
  advisoryUnlock,
  setSearchPath,
  withTransaction,
} from '../db/session.js';
import { DbopsError, InterruptedError, isPgError, LockError, SqlState } from '../errors.js';
import type { Progress } from '../progress.js';
import type { ResyncCounts, ResyncTarget } from './types.js';

export interface ResyncDeps {
  client: pg.ClientBase;
  progress: Progress;
  signal: AbortSignal;
  /** Schema of a family's tables (search_path while its targets run). */
  schemaOf(family: string): string;
  /** Why a target's family cannot be resynced (not applied), or undefined when it can. */
  unavailable(family: string): Promise<string | undefined>;
  /**
   * How long to wait for another resync of the same target (ms; default 0: refuse at once).
   * A rerun right after a killed resync waits here for the dead session's backend to end.
   */
  lockWaitMs?: number;
}

export interface ResyncResult {
  target: string;
  family: string;
  status: 'done' | 'dry-run' | 'skipped' | 'failed';
  counts: ResyncCounts;
  durationMs: number;
  batches: number;
  message?: string;
  error?: DbopsError;
}

/**
 * Errors a batch meets only by timing, gone when it runs again. 23503: a row the batch read (e.g.
 * a drifted partition it writes a lookup row for) was deleted after its snapshot.
 */
const RETRYABLE = new Set<string>([
  '23503',
  SqlState.deadlockDetected,
  SqlState.serializationFailure,
  SqlState.lockNotAvailable,
]);
const MAX_ATTEMPTS = 5;

/**
 * Runs each target: a dry run counts drift in a READ ONLY transaction; a real run repairs in
 * committed batches in source-key order (interruptible between batches; a rerun finishes the
 * job, since finished batches have no drift left). A failing target is reported and the others
 * still run; Ctrl-C stops everything.
 */
export async function runResync(
  deps: ResyncDeps,
  targets: ResyncTarget[],
  options: { dryRun: boolean; batchSize?: number },
): Promise<ResyncResult[]> {
  const results: ResyncResult[] = [];
  for (const target of targets) {
    const started = Date.now();
    const result: ResyncResult = {
      target: target.name,
      family: target.family,
      status: 'failed',
      counts: zero(),
      durationMs: 0,
      batches: 0,
    };
    results.push(result);
    try {
      const reason = await deps.unavailable(target.family);
      if (reason) {
        Object.assign(result, { status: 'skipped', message: reason });
        continue;
      }
      await setSearchPath(deps.client, [deps.schemaOf(target.family)]);
      if (options.dryRun) {
        result.counts = await withTransaction(
          deps.client,
          () => target.countDrift(deps.client),
          'BEGIN READ ONLY',
        );
        result.status = 'dry-run';
      } else {
        await repair(deps, target, options.batchSize ?? target.defaultBatchSize, result);
        result.status = 'done';
      }
    } catch (err) {
      const wrapped = wrapPgError(err, undefined, `resync ${target.name}`);
      if (!(wrapped instanceof DbopsError)) throw err;
      result.error = wrapped;
      result.message = wrapped.message;
      if (wrapped instanceof InterruptedError) break;
    } finally {
      result.durationMs = Date.now() - started;
    }
  }
  return results;
}

async function repair(
  deps: ResyncDeps,
  target: ResyncTarget,
  batchSize: number,
  result: ResyncResult,
): Promise<void> {
  const lockName = `resync:${target.name}`;
  if (!(await acquireAdvisoryLock(deps.client, lockName, deps.lockWaitMs ?? 0))) {
    const holder = (await advisoryLockHolder(deps.client, lockName)) ?? 'another session';
    throw new LockError(
      `another dbops resync of ${target.name} is running (${holder}); waited ${deps.lockWaitMs ?? 0} ms`,
      'Wait for it to finish, or raise migrationLockWaitMs in dbops.config.json.',
    );
  }
  try {
    // Batches commit without waiting for their WAL flush (one fsync per batch was 10-15% of a
    // resync). Safe for a repair: a crash can lose only the last batches' changes, never part
    // of a batch or anything a later synchronous commit depends on (WAL is flushed in order),
    // and a rerun repairs what was lost. Session-level: this connection only does this job.
    await deps.client.query('SET synchronous_commit = off');
    deps.progress.start(`resync ${target.name}`, await target.totalKeys?.(deps.client));
    let cursor: string | null = null;
    let keys = 0;
    do {
      if (deps.signal.aborted) throw interrupted(target);
      const batch = await retrying(deps, target, () =>
        target.repairBatch(deps.client, cursor, batchSize),
      );
      add(result.counts, batch);
      keys += batch.keys;
      result.batches += 1;
      cursor = batch.next;
      deps.progress.update(keys);
    } while (cursor !== null);
    if (target.finish)
      add(result.counts, await retrying(deps, target, () => target.finish!(deps.client)));
    deps.progress.finish();
  } finally {
    await advisoryUnlock(deps.client, lockName).catch(() => {});
  }
}

/** One transaction; retried with backoff on deadlock, serialization failure or lock timeout. */
async function retrying<T>(
  deps: ResyncDeps,
  target: ResyncTarget,
  fn: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(deps.client, fn);
    } catch (err) {
      if (deps.signal.aborted) throw interrupted(target);
      if (!isPgError(err) || !RETRYABLE.has(err.code!) || attempt >= MAX_ATTEMPTS) throw err;
      deps.progress.note(
        `resync ${target.name}: ${err.message}; retrying the batch (${attempt}/${MAX_ATTEMPTS - 1})`,
      );
      await sleep(backoffMs(attempt));
    }
  }
}

function interrupted(target: ResyncTarget): InterruptedError {
  return new InterruptedError(
    `resync ${target.name} interrupted; committed batches are kept`,
    `Rerun dbops resync ${target.name} to finish.`,
  );
}

function zero(): ResyncCounts {
  return { inserted: 0, updated: 0, deleted: 0 };
}

function add(into: ResyncCounts, more: ResyncCounts): void {
  into.inserted += more.inserted;
  into.updated += more.updated;
  into.deleted += more.deleted;
}

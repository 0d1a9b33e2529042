import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../checks/manifest.js';
import { backoffMs, isDeadlock, isLockTimeout, sleep } from '../db/retry.js';
import { InterruptedError } from '../errors.js';
import type { Progress } from '../progress.js';

/**
 * What dbops hands every migration besides node-pg-migrate's builder. Migrations never read argv,
 * env or the config file: everything they may depend on is here.
 */
export interface MigrationContext {
  family: string;
  /** Schema of the family's base tables; it is also first on search_path while the migration runs. */
  schema: string;
  /** True when only the SQL is being collected (`--dry-run`): nothing may be executed. */
  dryRun: boolean;
  /** Rows per committed batch for backfills and copies. */
  batchSize: number;
  progress: Progress;
  /** Aborted on Ctrl-C; batch loops stop between batches. */
  signal: AbortSignal;
  /**
   * How batches that UPDATE base tables (`runBatches` with `writesBaseTable`) treat the
   * application's triggers: 'replica' runs them with session_replication_role = replica, so
   * that no application trigger (and no trigger of dbops' own) fires on the backfill; 'fire'
   * lets them fire (the session may not set the role and the operator passed
   * --fire-app-triggers, or the table has no such trigger).
   */
  appTriggers: 'replica' | 'fire';
}

export type MigrationAction = (pgm: MigrationBuilder, ctx: MigrationContext) => Promise<void>;

/**
 * The shape of a file in migrations/<family>/. Transactional migrations only queue SQL with
 * pgm.sql(); a migration that calls pgm.noTransaction() may execute with pgm.db.query() and must be
 * idempotent, because an interruption leaves it unrecorded and a rerun runs it again.
 */
export interface DbopsMigration {
  up: MigrationAction;
  down: MigrationAction;
  /** Objects this migration adds; `check schema` verifies them while the migration is applied. */
  installs?: SchemaManifest;
}

/** One batched backfill or copy, for runBatches. */
export interface BatchSpec {
  label: string;
  sql: string;
  total?: number;
  start?: string | null;
  lockRetries?: number;
  /**
   * A foreign-key violation (23503) means a row the batch read (a referenced key) was deleted
   * by a writer after the batch's snapshot: the batch runs again (up to 5 times, 50 ms, 100 ms,
   * ...) with a new snapshot, which no longer sees that row. Only for batches whose referenced
   * keys all come from their own read.
   */
  retryDeletedKeys?: boolean;
  /**
   * The batches UPDATE a base table the application writes too: they run with
   * session_replication_role = replica when ctx.appTriggers says so, so that the application's
   * triggers (and the family's own, and foreign-key triggers) do not fire on them. The batch SQL
   * must therefore maintain everything the family derives itself.
   */
  writesBaseTable?: boolean;
}

/**
 * Runs `sql` again and again, each run autocommitted, until it reports no next key. `sql` takes
 * $1 = the last key of the previous batch as text (NULL on the first run) and $2 = batch size, and
 * returns one row `(next text, keys bigint, rows bigint)`: the key to resume after (NULL when
 * finished), source keys processed and rows written. The migration must have called
 * pgm.noTransaction(). A dry run records the statement instead of executing it. With
 * `lockRetries`, a batch that fails on lock_timeout is run again (same key, with backoff) up to
 * that many times before the error propagates; batches are idempotent, so this is safe.
 */
export async function runBatches(
  pgm: MigrationBuilder,
  ctx: MigrationContext,
  spec: BatchSpec,
): Promise<{ batches: number; keys: number; rows: number }> {
  if (ctx.dryRun) {
    pgm.sql(
      `-- ${spec.label}: repeated in committed batches of ${ctx.batchSize} keys until done\n` +
        `-- ($1 = last key of the previous batch, NULL at first; $2 = batch size)\n${spec.sql}`,
    );
    return { batches: 0, keys: 0, rows: 0 };
  }
  let cursor: string | null = spec.start ?? null;
  let batches = 0;
  let rows = 0;
  let keys = 0;
  const replica = spec.writesBaseTable === true && ctx.appTriggers === 'replica';
  ctx.progress.start(spec.label, spec.total);
  if (replica) await pgm.db.query('SET session_replication_role = replica');
  try {
    do {
      if (ctx.signal.aborted) throw new InterruptedError(`interrupted during ${spec.label}`);
      const result = await runBatch(pgm, ctx, spec, cursor);
      const row = (result.rows as { next: string | null; keys: string; rows: string }[])[0];
      cursor = row?.next ?? null;
      keys += Number(row?.keys ?? 0);
      rows += Number(row?.rows ?? 0);
      batches += 1;
      ctx.progress.update(keys);
    } while (cursor !== null);
  } finally {
    if (replica) await pgm.db.query('RESET session_replication_role').catch(() => {});
  }
  ctx.progress.finish();
  return { batches, keys, rows };
}

/**
 * One batch; on lock_timeout it waits (backoff) and runs the same batch again, up to
 * spec.lockRetries times; on a row lock NOWAIT could not take or a lost deadlock, the same after
 * 50 ms, 100 ms, ... Batches are idempotent and roll back as a whole.
 */
async function runBatch(
  pgm: MigrationBuilder,
  ctx: MigrationContext,
  spec: BatchSpec,
  cursor: string | null,
): Promise<{ rows: unknown[] }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pgm.db.query(spec.sql, [cursor, ctx.batchSize]);
    } catch (err) {
      // A row a writer holds (NOWAIT) or a lost deadlock: the writer is done in milliseconds.
      const keyDeleted =
        spec.retryDeletedKeys === true && (err as { code?: string }).code === '23503';
      if (keyDeleted && attempt <= 5 && !ctx.signal.aborted) {
        ctx.progress.note(
          `${spec.label}: a row the batch read was deleted meanwhile (${(err as Error).message}), retry ${attempt}/5 in ${50 * attempt} ms`,
        );
        await sleep(50 * attempt);
        continue;
      }
      const rowBusy =
        isDeadlock(err) || (isLockTimeout(err) && /could not obtain lock on row/.test(String(err)));
      if (
        !(rowBusy || isLockTimeout(err)) ||
        attempt > (spec.lockRetries ?? 0) ||
        ctx.signal.aborted
      )
        throw err;
      const wait = rowBusy ? 50 * attempt : backoffMs(attempt);
      ctx.progress.note(
        rowBusy
          ? `${spec.label}: a batch met a row a writer holds (${(err as Error).message}), retry ${attempt}/${spec.lockRetries} in ${wait} ms`
          : `${spec.label}: a batch hit lock_timeout, retry ${attempt}/${spec.lockRetries} in ${wait} ms`,
      );
      await sleep(wait);
    }
  }
}

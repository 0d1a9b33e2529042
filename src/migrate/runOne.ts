import { pathToFileURL } from 'node:url';
import type { RunnerOption } from 'node-pg-migrate';
import type pg from 'pg';
import type { ColumnWriter } from '../config.js';
import { wrapPgError } from '../db/pgError.js';
import { backoffMs, isDeadlock, isLockTimeout, sleep } from '../db/retry.js';
import { setSearchPath } from '../db/session.js';
import { InterruptedError, LockError } from '../errors.js';
import type { MigrationFamily } from '../families/types.js';
import type { Progress } from '../progress.js';
import type { DbopsMigration, MigrationContext } from './context.js';
import { IGNORE_NON_MIGRATIONS, type MigrationFile } from './files.js';
import { HISTORY_SCHEMA, historyTable, setPendingChecksum } from './history.js';
import { loadNodePgMigrate } from './nodePgMigrate.js';
import { sessionsWaitedFor } from './waitCause.js';

export interface RunSettings {
  lockRetries: number;
  lockTimeoutMs: number;
  batchSize: number;
  /**
   * --wait: keep retrying a step that hits lock_timeout until this many ms have passed since
   * its first attempt, however many retries that takes (default: lockRetries retries only).
   */
  waitMs?: number;
}

export interface RunDeps {
  client: pg.Client;
  settings: RunSettings;
  progress: Progress;
  signal: AbortSignal;
}

export interface FamilyTarget {
  def: MigrationFamily;
  /** Schema of the family's base tables (from config). */
  schema: string;
  /** How backfills treat the application's triggers (set by the engine from the preflight). */
  appTriggers?: 'replica' | 'fire';
  /** config columnWriters: who writes existing columns the family would add (for its preflight). */
  columnWriters?: Record<string, ColumnWriter>;
}

const quietLogger = { info() {}, warn() {}, error() {} };

/** node-pg-migrate calls action(pgm); ours get a second argument, our context. */
function loaderFor(ctx: MigrationContext): NonNullable<RunnerOption['migrationLoaderStrategies']> {
  const loader = async (paths: string[]) =>
    Promise.all(
      paths.map(async (path) => {
        const mod = (await import(pathToFileURL(path).href)) as DbopsMigration;
        return {
          id: path,
          filePaths: [path],
          actions: {
            up: (pgm: Parameters<DbopsMigration['up']>[0]) => mod.up(pgm, ctx),
            down: (pgm: Parameters<DbopsMigration['down']>[0]) => mod.down(pgm, ctx),
            shorthands: {},
          },
        };
      }),
    );
  return [{ extensions: ['.js', '.ts'], loader }];
}

export function contextFor(
  deps: RunDeps,
  target: FamilyTarget,
  dryRun: boolean,
  appTriggers: MigrationContext['appTriggers'] = target.appTriggers ?? 'fire',
): MigrationContext {
  return {
    appTriggers,
    family: String(target.def.name),
    schema: target.schema,
    dryRun,
    batchSize: deps.settings.batchSize,
    progress: deps.progress,
    signal: deps.signal,
  };
}

/**
 * Applies or reverts exactly one migration through node-pg-migrate's runner, on our client and
 * under our advisory lock (so noLock). A transactional migration that fails is rolled back here
 * (node-pg-migrate leaves the transaction open); one that hit lock_timeout or lost a deadlock is
 * retried with backoff up to settings.lockRetries times. Returns the number of attempts.
 */
export async function runOneMigration(
  deps: RunDeps,
  target: FamilyTarget,
  file: MigrationFile,
  direction: 'up' | 'down',
): Promise<number> {
  const { client } = deps;
  let lastSql = '';
  const tracked = {
    query: (text: string | { text: string }, values?: unknown[]) => {
      lastSql = typeof text === 'string' ? text : text.text;
      return client.query(text, values);
    },
  };
  const label = `${target.def.name}/${file.name} (${direction})`;
  const { runner } = await loadNodePgMigrate();
  const firstAttempt = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await setSearchPath(client, [target.schema]);
      await setPendingChecksum(client, direction === 'up' ? file.checksum : null);
      await runner({
        dbClient: tracked as unknown as pg.ClientBase,
        dir: target.def.migrationsDir,
        ignorePattern: IGNORE_NON_MIGRATIONS,
        migrationLoaderStrategies: loaderFor(contextFor(deps, target, false)),
        migrationsSchema: HISTORY_SCHEMA,
        migrationsTable: historyTable(String(target.def.name)),
        direction,
        file: file.name,
        count: 1,
        noLock: true,
        checkOrder: false,
        singleTransaction: false,
        logger: quietLogger,
      });
      return attempt;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (deps.signal.aborted) {
        throw new InterruptedError(
          `interrupted during ${label}; that step was rolled back (batches already committed are kept)`,
          `Rerun the same command to finish.`,
        );
      }
      if (isLockTimeout(err) || isDeadlock(err)) {
        const waitMs = deps.settings.waitMs;
        const waiting = waitMs !== undefined && Date.now() - firstAttempt < waitMs;
        if (attempt <= deps.settings.lockRetries || waiting) {
          const wait = backoffMs(attempt);
          const why = isDeadlock(err)
            ? 'deadlock with another session'
            : `lock_timeout (${deps.settings.lockTimeoutMs} ms) reached`;
          const of = waiting
            ? `of --wait ${Math.round(waitMs / 1000)} s`
            : `${attempt}/${deps.settings.lockRetries}`;
          deps.progress.note(`${label}: ${why}, retry ${of} in ${wait} ms`);
          await sleep(wait);
          continue;
        }
        throw await lockGiveUpError(deps, label, lastSql, attempt, err as Error);
      }
      throw wrapPgError(err, lastSql, label);
    }
  }
}

/**
 * The error when a step gave up on lock_timeout: what it was doing, and the sessions it waited
 * for (from pg_stat_activity), so the operator can end them or choose to wait longer.
 */
async function lockGiveUpError(
  deps: RunDeps,
  label: string,
  lastSql: string,
  attempts: number,
  err: Error,
): Promise<LockError> {
  const ms = deps.settings.lockTimeoutMs;
  const waitedFor = await sessionsWaitedFor(deps.client, ms).catch(() => []);
  const concurrently = /\bINDEX\s+CONCURRENTLY\b/i.test(lastSql);
  const what = concurrently
    ? `${label}: ${/^\s*DROP/i.test(lastSql) ? 'DROP' : 'CREATE'} INDEX CONCURRENTLY did not finish within lock_timeout ${ms} ms after ${attempts} attempts: it waits for every transaction in this database older than itself, even one touching no table`
    : `${label}: could not get its table locks within lock_timeout ${ms} ms after ${attempts} attempts: ${err.message}`;
  const sessions =
    waitedFor.length > 0
      ? `\nwaited for:\n${waitedFor.map((l) => `  ${l}`).join('\n')}`
      : '\nno session older than the wait is left (it ended meanwhile): rerun.';
  return new LockError(
    `${what}${sessions}`,
    `End those sessions (SELECT pg_terminate_backend(pid)) or let dbops wait for them: rerun with --wait <seconds> (retries until then; writers are never blocked longer than --lock-timeout per attempt).`,
  );
}

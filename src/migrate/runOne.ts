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

export interface RunSettings {
  lockRetries: number;
  lockTimeoutMs: number;
  batchSize: number;
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
        if (attempt <= deps.settings.lockRetries) {
          const wait = backoffMs(attempt);
          const why = isDeadlock(err)
            ? 'deadlock with another session'
            : `lock_timeout (${deps.settings.lockTimeoutMs} ms) reached`;
          deps.progress.note(
            `${label}: ${why}, retry ${attempt}/${deps.settings.lockRetries} in ${wait} ms`,
          );
          await sleep(wait);
          continue;
        }
        throw new LockError(
          `${label}: could not get its table locks within lock_timeout ${deps.settings.lockTimeoutMs} ms after ${attempt} attempts: ${(err as Error).message}`,
          'A long transaction holds a conflicting lock: find it in pg_stat_activity, or rerun later / with a larger --lock-timeout.',
        );
      }
      throw wrapPgError(err, lastSql, label);
    }
  }
}

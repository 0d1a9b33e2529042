import type { ResolvedConfig, SkewSettings } from '../config.js';
import type { FamilyName } from '../families/names.js';
import { type Progress, silentProgress } from '../progress.js';
import type { OperationEnv } from './session.js';

/** The config file's shape (`dbops.config.json`); every key optional. See docs/config.md. */
export interface DbopsConfig {
  databaseUrl?: string;
  families?: FamilyName[];
  schemas?: Partial<Record<FamilyName, string>>;
  lockTimeoutMs?: number;
  lockRetries?: number;
  statementTimeoutMs?: number;
  migrationLockWaitMs?: number;
  batchSize?: number;
  checks?: Partial<ResolvedConfig['checks']>;
  skew?: Partial<SkewSettings>;
}

/** Options every API function takes: where to connect and how to behave. */
export interface DbopsOptions {
  /** postgres:// URL. Else `DATABASE_URL` in `env`, else the config's `databaseUrl`, else PG* variables. */
  databaseUrl?: string;
  /**
   * A config file path (relative to `cwd`), or the config as an object (validated like the
   * file). Default: `dbops.config.json|.js|.ts` in `cwd` when present.
   */
  config?: string | DbopsConfig;
  /** Where a config file is looked for. Default `process.cwd()`. */
  cwd?: string;
  /** Environment read for DATABASE_URL and PG*. Default `process.env`; `{}` ignores it. */
  env?: Record<string, string | undefined>;
  /** lock_timeout for DDL, ms (overrides the config). */
  lockTimeoutMs?: number;
  /** statement_timeout for migrations and resyncs, ms, 0 = none (overrides the config). */
  statementTimeoutMs?: number;
  /** Aborting cancels the running statement on the server; the call rejects with InterruptedError. */
  signal?: AbortSignal;
  /** Receives progress of long work (backfills, copies, resyncs). Default: none. */
  progress?: Progress;
}

/** Resolves options the way the CLI resolves flags: option > environment > config file > default. */
export async function resolveOptions(opts: DbopsOptions = {}): Promise<OperationEnv> {
  const { loadConfig, validateConfig } = await import('../config.js');
  const { resolveConnection } = await import('../db/connection.js');
  const { UsageError } = await import('../errors.js');
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const config =
    typeof opts.config === 'object' && opts.config !== null
      ? validateConfig(opts.config, 'options.config')
      : await loadConfig(cwd, opts.config);
  const ms = (name: string, value: number | undefined, min: number) => {
    if (value === undefined) return undefined;
    if (!Number.isSafeInteger(value) || value < min)
      throw new UsageError(`${name} ${value}: expected a whole number >= ${min}`);
    return value;
  };
  config.lockTimeoutMs = ms('lockTimeoutMs', opts.lockTimeoutMs, 1) ?? config.lockTimeoutMs;
  config.statementTimeoutMs =
    ms('statementTimeoutMs', opts.statementTimeoutMs, 0) ?? config.statementTimeoutMs;
  const connection = resolveConnection({
    flagUrl: opts.databaseUrl,
    envUrl: env.DATABASE_URL,
    configUrl: config.databaseUrl,
    pgEnvSet: ['PGHOST', 'PGPORT', 'PGDATABASE'].some((k) => (env[k] ?? '') !== ''),
  });
  return {
    config,
    connection,
    signal: opts.signal ?? new AbortController().signal,
    progress: opts.progress ?? silentProgress,
  };
}

import { silentProgress } from '../progress.js';
import type { OperationEnv } from './session.js';
import type { DbopsOptions } from './types.js';

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

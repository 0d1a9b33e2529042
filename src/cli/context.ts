import type { Command } from 'commander';
import type { OperationEnv } from '../api/session.js';
import { UsageError } from '../errors.js';
import { stderrProgress } from '../report/progress.js';
import { type Renderer, rendererFor } from './output.js';

export type Format = 'table' | 'json' | 'junit' | 'github' | 'html';
const FORMATS: Format[] = ['table', 'json', 'junit', 'github', 'html'];

/**
 * Everything a command handler needs, resolved once from global options, env and config. It is
 * the OperationEnv the API operations take (config, connection, signal, progress); fleet mode
 * makes one OperationEnv per target instead.
 */
export interface CommandContext extends OperationEnv {
  format: Format;
  color: boolean;
  /**
   * Renders a report in `format`; only the chosen format's code is loaded, and it loads while the
   * command connects (awaited when the report is printed).
   */
  render: Promise<Renderer>;
  /** Where reports go (stdout) and where messages go (stderr). */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface GlobalOptions {
  databaseUrl?: string;
  config?: string;
  format?: string;
  color?: boolean;
  lockTimeout?: string;
  statementTimeout?: string;
}

/** The one place that reads process.env, argv options and the config file. */
export async function commandContext(cmd: Command, signal: AbortSignal): Promise<CommandContext> {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  // Imported here, not at the top: --help and --version load no more than they print.
  const { loadConfig } = await import('../config.js');
  const { resolveConnection } = await import('../db/connection.js');
  const config = await loadConfig(process.cwd(), opts.config);
  if (opts.lockTimeout !== undefined)
    config.lockTimeoutMs = parsePositiveInt('--lock-timeout', opts.lockTimeout);
  if (opts.statementTimeout !== undefined) {
    config.statementTimeoutMs = parsePositiveInt('--statement-timeout', opts.statementTimeout, 0);
  }
  const connection = resolveConnection({
    flagUrl: opts.databaseUrl,
    envUrl: process.env.DATABASE_URL,
    configUrl: config.databaseUrl,
    pgEnvSet: ['PGHOST', 'PGPORT', 'PGDATABASE'].some((k) => (process.env[k] ?? '') !== ''),
  });
  const stdout = process.stdout;
  const format = parseFormat(opts.format);
  const noColor = opts.color === false || (process.env.NO_COLOR ?? '') !== '';
  const color = format === 'table' && stdout.isTTY === true && !noColor;
  return {
    config,
    connection,
    format,
    color,
    progress: stderrProgress(process.stderr),
    render: quiet(rendererFor(format, color)),
    signal,
    closeInBackground: true,
    stdout,
    stderr: process.stderr,
  };
}

/** The promise, marked as handled: a command that fails before printing never awaits it. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** table is the default everywhere; colour is what depends on the terminal. */
function parseFormat(value: string | undefined): Format {
  if (value === undefined) return 'table';
  if (!(FORMATS as string[]).includes(value)) {
    throw new UsageError(`--format ${value}: unknown format`, `Use one of ${FORMATS.join(', ')}.`);
  }
  return value as Format;
}

export function parsePositiveInt(flag: string, value: string, min = 1): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag} ${value}: expected a whole number >= ${min}`);
  }
  return n;
}

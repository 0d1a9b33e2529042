import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import type { ConnectionSpec } from '../db/connection.js';
import type { Progress } from '../progress.js';

/**
 * What every operation needs, resolved once: the validated config, where to connect, how to be
 * cancelled and where progress goes. The CLI's CommandContext is one; `resolveOptions` makes one
 * for library callers.
 */
export interface OperationEnv {
  config: ResolvedConfig;
  connection: ConnectionSpec;
  signal: AbortSignal;
  progress: Progress;
  /**
   * Return without waiting for the server to end the session (the CLI: its process exits only
   * once the socket is closed, so it prints the report meanwhile). Default: wait.
   */
  closeInBackground?: boolean;
}

/**
 * Opens the job's connection with the session settings (lock_timeout, statement_timeout),
 * cancels its running statement when `signal` aborts, and always closes it. Takes the session
 * openSessionEarly(env) started, if any.
 */
export async function withClient<T>(
  env: OperationEnv,
  fn: (client: pg.Client) => Promise<T>,
  settings: { statementTimeoutMs?: number } = {},
): Promise<T> {
  const { cancelOnAbort } = await import('../db/cancel.js');
  const started =
    early?.env === env && settings.statementTimeoutMs === undefined ? early : undefined;
  if (started) early = undefined;
  const client = await (started?.client ?? openSession(env, settings));
  const stopCancel = cancelOnAbort(env.connection, client, env.signal);
  try {
    return await fn(client);
  } finally {
    stopCancel();
    const closed = client.end().catch(() => {});
    if (env.closeInBackground !== true) await closed;
  }
}

/** A connection with the session settings applied; closed again if they fail. */
async function openSession(
  env: OperationEnv,
  settings: { statementTimeoutMs?: number },
): Promise<pg.Client> {
  const { openClient } = await import('../db/connection.js');
  const { configureSession } = await import('../db/session.js');
  const client = await openClient(env.connection);
  try {
    await configureSession(client, {
      lockTimeoutMs: env.config.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs ?? env.config.statementTimeoutMs,
    });
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

let early: { env: OperationEnv; client: Promise<pg.Client> } | undefined;

/**
 * Starts opening the session the next withClient(env) will use (the CLI, before it loads the
 * command's modules): the server starts the backend and applies the settings meanwhile, instead
 * of after. A failure surfaces in that withClient; closeEarlySession() closes a session that no
 * withClient took (the command failed before it connected).
 */
export function openSessionEarly(env: OperationEnv): void {
  const client = openSession(env, {});
  client.catch(() => {});
  early = { env, client };
}

/** Closes the session openSessionEarly started if no withClient took it. */
export async function closeEarlySession(): Promise<void> {
  const unused = early;
  early = undefined;
  const client = await unused?.client.catch(() => undefined);
  await client?.end().catch(() => {});
}

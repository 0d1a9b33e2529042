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
}

/**
 * Opens the job's connection with the session settings (lock_timeout, statement_timeout),
 * cancels its running statement when `signal` aborts, and always closes it.
 */
export async function withClient<T>(
  env: OperationEnv,
  fn: (client: pg.Client) => Promise<T>,
  settings: { statementTimeoutMs?: number } = {},
): Promise<T> {
  const { openClient } = await import('../db/connection.js');
  const { cancelOnAbort } = await import('../db/cancel.js');
  const { configureSession } = await import('../db/session.js');
  const client = await openClient(env.connection);
  const stopCancel = cancelOnAbort(env.connection, client, env.signal);
  try {
    await configureSession(client, {
      lockTimeoutMs: env.config.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs ?? env.config.statementTimeoutMs,
    });
    return await fn(client);
  } finally {
    stopCancel();
    await client.end().catch(() => {});
  }
}

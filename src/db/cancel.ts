import type pg from 'pg';
import { type ConnectionSpec, openClient } from './connection.js';

/**
 * When `signal` aborts, cancels whatever `client` is running via pg_cancel_backend on a second,
 * short-lived connection. Returns a function that removes the listener.
 */
export function cancelOnAbort(
  spec: ConnectionSpec,
  client: pg.Client,
  signal: AbortSignal,
): () => void {
  const pid = (client as unknown as { processID: number }).processID;
  const onAbort = () => {
    void (async () => {
      const canceller = await openClient(spec).catch(() => undefined);
      if (!canceller) return;
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
      await canceller.end().catch(() => {});
    })();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

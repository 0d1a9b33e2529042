import { isPgError, SqlState } from '../../../errors.js';
import type { MigrationContext } from '../../../migrate/context.js';
import { inTransaction, type Sql } from './sql.js';

/**
 * How long a step that needs a strong lock on a table the application uses (chunks, collections,
 * documents) may queue for it, per attempt. While we queue, every later statement on that table
 * queues behind us, so we give up quickly and try again rather than block the application for
 * the whole wait. Attempts 1-5 wait 200 ms, 6-10 500 ms, then 1.5 s: longer than
 * deadlock_timeout (1 s by default), after which an autovacuum that holds the table cancels
 * itself for us (it never would if we always gave up first).
 */
export const SHORT_LOCK_TIMEOUT_MS = 200;
const ATTEMPTS = 15;

function lockTimeoutMs(attempt: number): number {
  return attempt <= 5 ? SHORT_LOCK_TIMEOUT_MS : attempt <= 10 ? 500 : 1500;
}

/**
 * Runs fn in a transaction whose lock waits are bounded as above; on a lock timeout the
 * transaction is rolled back and retried after a growing pause (0.1 s, 0.2 s, ..., at most 1 s).
 * After ATTEMPTS timeouts the error goes to the engine, which retries the whole step
 * (`lockRetries`) and then reports it.
 */
export async function withShortLocks<T>(
  sql: Sql,
  ctx: MigrationContext,
  label: string,
  fn: () => Promise<T>,
  /** Runs after a timed-out attempt, before the next (e.g. catch up with what was written meanwhile). */
  beforeRetry?: () => Promise<unknown>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(sql, async () => {
        await sql.query(`SET LOCAL lock_timeout = '${lockTimeoutMs(attempt)}ms'`);
        return fn();
      });
    } catch (err) {
      if (attempt >= ATTEMPTS || !isPgError(err) || err.code !== SqlState.lockNotAvailable)
        throw err;
      if (attempt % 5 === 0) {
        ctx.progress.note(`${label}: tables busy, no lock after ${attempt} tries; retrying`);
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
      await beforeRetry?.();
    }
  }
}

import { isPgError, SqlState } from '../errors.js';

export function isLockTimeout(err: unknown): boolean {
  return isPgError(err) && err.code === SqlState.lockNotAvailable;
}

/**
 * A step that lost a deadlock was rolled back by the server like one that hit lock_timeout, and
 * is as safe to retry (transactional steps are atomic, online ones idempotent).
 */
export function isDeadlock(err: unknown): boolean {
  return isPgError(err) && err.code === SqlState.deadlockDetected;
}

/**
 * A batch whose snapshot still saw a parent row that a concurrent DELETE removed before the
 * batch's insert checked its foreign key (e.g. Queen's retention deleting a partition while the
 * lookup backfill writes its row). The next snapshot no longer sees the parent: retry the batch.
 */
export function isParentGone(err: unknown): boolean {
  return isPgError(err) && err.code === SqlState.foreignKeyViolation;
}

/** Delay before retry number `attempt` (1-based): 0.5 s, 1 s, 2 s, 4 s, then 8 s. */
export function backoffMs(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 8000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { isPgError, SqlState } from '../../../errors.js';
import type { MigrationContext } from '../../../migrate/context.js';
import { removeCaptureSql } from './capture.js';
import { catchUpBatch } from './catchUp.js';
import { dependentsCreateSql, dependentsDropSql } from './dependents.js';
import {
  type Layout,
  LIVE_TABLE,
  lockReferencedSql,
  publicationsMoveSql,
  renameSql,
  triggersSql,
} from './layouts.js';
import { readChunks } from './original.js';

/** What else the swap transaction does: statements after the renames, and how it locks collections and documents. */
export interface SwapExtras {
  /** Run after the renames, in the same transaction. */
  finally?: string[];
  /** Between attempts that did not get the locks: catch up outside the lock meanwhile. */
  beforeRetry?: () => Promise<unknown>;
}

import { withShortLocks } from './locks.js';
import type { Sql } from './sql.js';

/**
 * The swap: one transaction that takes ACCESS EXCLUSIVE on the live table (readers and writers of
 * chunks wait from here to COMMIT; lock_timeout bounds how long we queue for it, and the engine
 * retries the whole step when it expires; collections and documents are locked first, SHARE ROW
 * EXCLUSIVE, so a cascading delete cannot deadlock with the catch-up's foreign key checks), applies the changes recorded since the last catch-up,
 * removes the capture, and renames: the live table and its parent indexes to their staging names,
 * the staging copy and its indexes to the live names; the original's triggers are created on the
 * new chunks, every view reading chunks is recreated against it (see dependents.ts) and every
 * publication listing chunks moves to it (see publicationsMoveSql). A statement that was waiting for chunks
 * resolves the name again after the lock is granted and so runs against the new table.
 * `extras.finally` statements run in the same transaction after the renames.
 *
 * Returns how long chunks was locked (from the LOCK request to COMMIT) and the keys caught up.
 */
export async function swapTables(
  sql: Sql,
  ctx: MigrationContext,
  live: Layout,
  staging: Layout,
  extras: SwapExtras = {},
): Promise<SwapTiming> {
  // A transaction of the application that holds chunks and then wants documents deadlocks with us
  // (we hold documents and want chunks). We started waiting first, so PostgreSQL's deadlock check
  // runs in our session and cancels us, not the application: retry a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await swapOnce(sql, ctx, live, staging, extras);
    } catch (err) {
      if (attempt >= 3 || !isPgError(err) || err.code !== SqlState.deadlockDetected) throw err;
      ctx.progress.note(`swap: deadlock with an application transaction, retry ${attempt}/2`);
    }
  }
}

async function swapOnce(
  sql: Sql,
  ctx: MigrationContext,
  live: Layout,
  staging: Layout,
  extras: SwapExtras,
): Promise<SwapTiming> {
  const ms = (since: number) => Math.round(performance.now() - since);
  const timing: SwapTiming = {
    lockedMs: 0,
    lockWaitMs: 0,
    catchUpMs: 0,
    ddlMs: 0,
    caughtUp: 0,
    attempts: 0,
    dependents: 0,
  };
  let attemptStarted = 0;
  await withShortLocks(
    sql,
    ctx,
    'swap',
    async () => {
      attemptStarted = performance.now();
      timing.attempts += 1;
      timing.caughtUp = 0;
      await sql.query(lockReferencedSql(staging, 'SHARE ROW EXCLUSIVE'));
      await sql.query(`LOCK TABLE ${LIVE_TABLE} IN ACCESS EXCLUSIVE MODE`);
      await sql.query(`LOCK TABLE ${staging.staging} IN ACCESS EXCLUSIVE MODE`);
      timing.lockWaitMs = ms(attemptStarted);
      const caughtUpAt = performance.now();
      for (;;) {
        const taken = await catchUpBatch(sql, live, staging, ctx.batchSize);
        timing.caughtUp += taken;
        if (taken === 0) break;
      }
      timing.catchUpMs = ms(caughtUpAt);
      // Views reading chunks follow the renamed table; their definitions are read here, under
      // the lock, dropped before the renames and created again against the new chunks after.
      // So do the publications listing chunks (with their row filters and column lists).
      const current = await readChunks(sql, ctx.schema);
      const dependents = current?.dependents ?? [];
      timing.dependents = dependents.length;
      // One round trip for the DDL: every millisecond here is a millisecond writers wait.
      const ddlAt = performance.now();
      await sql.query(
        [
          ...removeCaptureSql(),
          ...dependentsDropSql(dependents),
          ...renameSql(live, 'staging'),
          ...renameSql(staging, 'live'),
          ...triggersSql(staging),
          ...dependentsCreateSql(dependents),
          ...publicationsMoveSql(current?.publications ?? [], live.staging),
          ...(extras.finally ?? []),
        ].join(';\n'),
      );
      timing.ddlMs = ms(ddlAt);
    },
    extras.beforeRetry,
  );
  // The attempt that got its locks; each earlier one gave up after its short lock_timeout.
  timing.lockedMs = ms(attemptStarted);
  return timing;
}

/**
 * How long the swap held (or queued for) the lock on chunks, in the attempt that got it: lockedMs
 * from the LOCK request to COMMIT, of which lockWaitMs waiting for transactions already using the
 * tables, catchUpMs applying the last `caughtUp` changed keys, ddlMs the renames. `attempts`
 * counts lock timeouts (each a wait bounded by withShortLocks) plus the one that worked.
 */
export interface SwapTiming {
  lockedMs: number;
  lockWaitMs: number;
  catchUpMs: number;
  ddlMs: number;
  caughtUp: number;
  attempts: number;
  /** Views and materialized views recreated against the new table (inside ddlMs). */
  dependents: number;
}

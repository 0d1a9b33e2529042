import { PreconditionError } from '../../../errors.js';
import type { MigrationContext } from '../../../migrate/context.js';
import { completeStaging, dropStaging } from './build.js';
import {
  createMachinerySql,
  DROP_MACHINERY,
  installCaptureSql,
  PROGRESS_TABLE,
  resetProgressSql,
} from './capture.js';
import { drainChanges } from './catchUp.js';
import { copyRows, readCursor } from './copy.js';
import { assertNothingAddedSinceUp } from './downGuard.js';
import { createStagingSql, type Layout } from './layouts.js';
import { loadLayouts } from './original.js';
import { inTransaction, liveLayoutKind, relationExists, type Sql } from './sql.js';
import { type SwapExtras, swapTables } from './swap.js';
import { compareCopy, describe, mismatchError } from './verify.js';

/** Changed keys few enough to apply inside the swap's lock in a few milliseconds. */
const SMALL_BACKLOG = 100;

/**
 * The last stretch of a move: catch up, verify (count, checksum, collections) at one snapshot,
 * then the short swap. On a mismatch nothing is swapped: `onMismatch` runs, then the error
 * (with `hint`) is thrown.
 */
async function verifyAndSwap(
  sql: Sql,
  ctx: MigrationContext,
  move: { live: Layout; staging: Layout; hint: string; onMismatch?: () => Promise<void> },
  extras: SwapExtras = {},
): Promise<void> {
  const { live, staging } = move;
  await drainChanges(sql, ctx, live, staging);
  ctx.progress.note(`verifying ${staging.staging} against chunks`);
  const check = await compareCopy(sql, staging);
  if (!check.same) {
    await move.onMismatch?.();
    throw mismatchError(check, staging, move.hint);
  }
  ctx.progress.note(
    `verified: ${describe(check.live)} in both (${check.pendingKeys} keys with unapplied changes left out)`,
  );
  // Verification takes seconds at scale; apply what was written meanwhile outside the lock, again
  // and again while that leaves much behind (each pass is shorter than the one before), so the
  // swap only has the last moments' changes to apply while chunks is locked.
  const converge = async () => {
    for (let pass = 0; pass < 10; pass++) {
      if ((await drainChanges(sql, ctx, live, staging)) < SMALL_BACKLOG) break;
    }
  };
  await converge();
  const swap = await swapTables(sql, ctx, live, staging, { ...extras, beforeRetry: converge });
  ctx.progress.note(
    `swapped chunks to ${staging.kind.toUpperCase()} partitions: chunks locked for ${swap.lockedMs} ms ` +
      `(waiting for the lock ${swap.lockWaitMs} ms, applying the last ${swap.caughtUp} changed keys ` +
      `${swap.catchUpMs} ms, renames${swap.dependents > 0 ? ` and ${swap.dependents} views recreated` : ''} ${swap.ddlMs} ms${swap.attempts > 1 ? `; attempt ${swap.attempts}` : ''})`,
  );
}

/** Up of the swap step: HASH live -> LIST live, then the retired table and the machinery go. */
export async function swapToList(sql: Sql, ctx: MigrationContext): Promise<void> {
  const { hash: HASH_LAYOUT, list: LIST_LAYOUT } = await loadLayouts(sql, ctx.schema);
  if ((await liveLayoutKind(sql)) === 'hash') {
    const cursor = await readCursor(sql, LIST_LAYOUT);
    if (!cursor?.finished) {
      throw new PreconditionError(
        `${LIST_LAYOUT.staging} is not completely copied (chunks_copy_progress says so); nothing was swapped`,
        'Redo the copy: dbops migrate down partition --to 0001, then dbops migrate up partition.',
      );
    }
    await verifyAndSwap(sql, ctx, {
      live: HASH_LAYOUT,
      staging: LIST_LAYOUT,
      hint: 'The copy is not exact. Redo it: dbops migrate down partition --to 0001, then dbops migrate up partition.',
    });
  }
  // Idempotent tail (a rerun after a kill between the swap and here lands here directly);
  // nothing uses chunks_hash any more. Its foreign keys are not dropped inside the swap: that needs
  // ACCESS EXCLUSIVE on collections and documents, which writers inserting chunks take after chunks
  // (their foreign key checks), so holding both would deadlock with them; alone, it is one short
  // transaction that only waits for those checks to finish.
  await dropStaging(sql, ctx, HASH_LAYOUT);
  await sql.query(DROP_MACHINERY);
}

/** The layouts for a step's --dry-run text (from the saved original, else the live table). */
export { loadLayouts };

/**
 * Down of the swap step: the whole move the other way, LIST live -> HASH live, online, ending in
 * the state 0003 left: the HASH table live with the capture on it, chunks_list complete next to it.
 */
export async function moveBackToHash(sql: Sql, ctx: MigrationContext): Promise<void> {
  if ((await liveLayoutKind(sql)) !== 'list') return; // already moved back
  const { hash: HASH_LAYOUT, list: LIST_LAYOUT } = await loadLayouts(sql, ctx.schema);
  if (!(await relationExists(sql, HASH_LAYOUT.staging)))
    await assertNothingAddedSinceUp(sql, ctx.schema, LIST_LAYOUT);
  await inTransaction(sql, async () => {
    await sql.query(createMachinerySql(ctx.schema));
    if (!(await relationExists(sql, HASH_LAYOUT.staging))) {
      await sql.query(createStagingSql(HASH_LAYOUT));
      await sql.query(resetProgressSql(HASH_LAYOUT, LIST_LAYOUT));
    }
    for (const statement of installCaptureSql()) await sql.query(statement);
  });
  await copyRows(sql, ctx, LIST_LAYOUT, HASH_LAYOUT);
  await completeStaging(sql, ctx, LIST_LAYOUT, HASH_LAYOUT);
  await verifyAndSwap(
    sql,
    ctx,
    {
      live: LIST_LAYOUT,
      staging: HASH_LAYOUT,
      hint: `The copy was dropped; rerun dbops migrate down partition to copy again.`,
      // A copy that does not verify is useless: drop it, so the rerun copies from scratch.
      onMismatch: () => dropStaging(sql, ctx, HASH_LAYOUT),
    },
    // In the swap transaction: the state 0003 left (capture on the HASH table, chunks_list complete).
    {
      finally: [
        ...installCaptureSql(),
        `DELETE FROM ${PROGRESS_TABLE} WHERE target = '${HASH_LAYOUT.staging}'`,
        resetProgressSql(LIST_LAYOUT, HASH_LAYOUT),
        `UPDATE ${PROGRESS_TABLE} SET finished = true WHERE target = '${LIST_LAYOUT.staging}'`,
      ],
    },
  );
}

/**
 * partition 0002: copies every row of the live HASH chunks into chunks_list, in committed batches
 * of about batchSize rows (block ranges of one source partition at a time), with progress on
 * stderr. No table lock: each batch reads its block range at its own snapshot and inserts into
 * the unindexed staging partitions. Rows written meanwhile are captured (0001) and applied by the
 * catch-up in 0003 and 0004. Interrupted (Ctrl-C, kill, crash), it is not recorded, and the rerun
 * continues at the cursor committed with the last batch.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { stripStaging } from '../../src/families/partition/online/build.js';
import { CHANGES_TABLE, resetProgressSql } from '../../src/families/partition/online/capture.js';
import { copyPlanSql, copyRows } from '../../src/families/partition/online/copy.js';
import { loadLayouts } from '../../src/families/partition/online/original.js';
import { inTransaction, planText } from '../../src/families/partition/online/sql.js';
import type { MigrationContext } from '../../src/migrate/context.js';

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  const { hash, list } = await loadLayouts(pgm.db, ctx.schema);
  if (ctx.dryRun) {
    pgm.sql(copyPlanSql(hash, list, ctx.batchSize));
    return;
  }
  await copyRows(pgm.db, ctx, hash, list);
}

/** Empties the staging table and rewinds the cursor; changes recorded so far are moot. */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  const { hash, list: LIST_LAYOUT } = await loadLayouts(pgm.db, ctx.schema);
  const reset = [
    `TRUNCATE ${LIST_LAYOUT.staging}`,
    resetProgressSql(LIST_LAYOUT, hash),
    `DELETE FROM ${CHANGES_TABLE}`,
  ];
  if (ctx.dryRun) {
    pgm.sql(planText(reset));
    return;
  }
  await stripStaging(pgm.db, ctx, LIST_LAYOUT);
  await inTransaction(pgm.db, async () => {
    for (const statement of reset) await pgm.db.query(statement);
  });
}

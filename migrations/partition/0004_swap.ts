/**
 * partition 0004: makes the 100-LIST table the live chunks. Applies the changes recorded since
 * 0003 in committed batches, verifies row count, row checksum and distinct collections of chunks
 * against chunks_list at one snapshot (on a mismatch nothing is swapped: exit 2), then swaps in
 * ONE short transaction: ACCESS EXCLUSIVE on chunks (bounded by lock_timeout), the last recorded
 * changes, capture removed, renames. Readers and writers of chunks wait only for that transaction
 * (its duration is printed). The retired HASH table and the machinery are dropped afterwards.
 *
 * Down moves every row back online the same way (copy into a new HASH table under capture, build,
 * verify, swap) and ends in the state before this step: HASH chunks live and captured, chunks_list
 * complete next to it.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { CATCH_UP_SQL } from '../../src/families/partition/online/catchUp.js';
import { copyPlanSql } from '../../src/families/partition/online/copy.js';
import { seedIndexes } from '../../src/families/partition/online/indexNames.js';
import { DEFAULT_PARTITION } from '../../src/families/partition/online/key.js';
import { renameSql, triggersSql } from '../../src/families/partition/online/layouts.js';
import {
  loadLayouts,
  moveBackToHash,
  swapToList,
} from '../../src/families/partition/online/move.js';
import { planText } from '../../src/families/partition/online/sql.js';
import { summarySql } from '../../src/families/partition/online/verify.js';
import type { MigrationContext } from '../../src/migrate/context.js';

/** The parts every deployment has (the rest is derived from its original: see partition.schema). */
const PARTITIONS = Array.from(
  { length: 100 },
  (_, i) => `chunks_part_${String(i).padStart(2, '0')}`,
);
export const installs: SchemaManifest = {
  tables: [
    {
      name: 'chunks',
      columns: ['id', 'collection_id', 'document_id', 'chunk_index', 'partition_key'],
    },
  ],
  indexes: seedIndexes.flatMap((seed) =>
    [...PARTITIONS, DEFAULT_PARTITION].map((p) => ({ name: `idx_${p}_${seed.suffix}`, table: p })),
  ),
  listPartitions: {
    table: 'chunks',
    prefix: 'chunks_part_',
    count: 100,
    defaultPartition: DEFAULT_PARTITION,
  },
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  if (ctx.dryRun) {
    const { list: LIST_LAYOUT } = await loadLayouts(pgm.db, ctx.schema);
    pgm.sql(
      planText([
        `-- catch up ${LIST_LAYOUT.staging} in committed batches of ${ctx.batchSize} keys`,
        CATCH_UP_SQL,
        '-- verify at one snapshot: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
        summarySql('chunks', LIST_LAYOUT.columns),
        summarySql(LIST_LAYOUT.staging, LIST_LAYOUT.columns),
        '-- swap (one transaction)',
        'BEGIN',
        'LOCK TABLE chunks IN ACCESS EXCLUSIVE MODE',
        `LOCK TABLE ${LIST_LAYOUT.staging} IN ACCESS EXCLUSIVE MODE`,
        '-- the catch-up above until no change is left; drop the capture triggers',
        'DROP TRIGGER IF EXISTS chunks_copy_capture ON chunks',
        '-- views reading chunks: dropped here, created again from their definitions after the renames',
        ...renameSql(LIST_LAYOUT, 'live').slice(0, 1),
        ...triggersSql(LIST_LAYOUT),
        '-- publications listing chunks: ALTER PUBLICATION ... DROP TABLE the old, ADD TABLE chunks (same row filter and column list)',
        'COMMIT',
        'DROP TABLE IF EXISTS chunks_hash',
      ]),
    );
    return;
  }
  await swapToList(pgm.db, ctx);
}

export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  if (ctx.dryRun) {
    const { hash: HASH_LAYOUT, list: LIST_LAYOUT } = await loadLayouts(pgm.db, ctx.schema);
    pgm.sql(
      planText([
        `-- refused before anything changes if chunks has columns, indexes, constraints, triggers or partitions added after up`,
        `-- create chunks_hash as the original (${HASH_LAYOUT.partitionBy}, ${HASH_LAYOUT.partitions.length} partitions, the original's names), capture changes on chunks, then copy:`,
        copyPlanSql(LIST_LAYOUT, HASH_LAYOUT, ctx.batchSize),
        '-- build its keys, indexes and foreign keys per partition, catch up, verify, swap back',
        ...renameSql(LIST_LAYOUT, 'staging').slice(0, 1),
      ]),
    );
    return;
  }
  await moveBackToHash(pgm.db, ctx);
}

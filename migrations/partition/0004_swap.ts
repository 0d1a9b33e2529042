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
import {
  BASE_COLUMN_NAMES,
  HASH_LAYOUT,
  LIST_LAYOUT,
  renameSql,
} from '../../src/families/partition/online/layouts.js';
import { moveBackToHash, swapToList } from '../../src/families/partition/online/move.js';
import { planText } from '../../src/families/partition/online/sql.js';
import { summarySql } from '../../src/families/partition/online/verify.js';
import type { MigrationContext } from '../../src/migrate/context.js';

export const installs: SchemaManifest = {
  tables: [{ name: 'chunks', columns: [...BASE_COLUMN_NAMES, 'partition_key'] }],
  indexes: LIST_LAYOUT.indexes.flatMap((ix) => [
    { name: ix.live, table: 'chunks' },
    ...LIST_LAYOUT.partitions.map((p) => ({ name: ix.onPartition(p.name), table: p.name })),
  ]),
  listPartitions: { table: 'chunks', prefix: 'chunks_part_', count: 100 },
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  if (ctx.dryRun) {
    pgm.sql(
      planText([
        `-- catch up ${LIST_LAYOUT.staging} in committed batches of ${ctx.batchSize} keys`,
        CATCH_UP_SQL,
        '-- verify at one snapshot: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
        summarySql('chunks'),
        summarySql(LIST_LAYOUT.staging),
        '-- swap (one transaction)',
        'BEGIN',
        'LOCK TABLE chunks IN ACCESS EXCLUSIVE MODE',
        `LOCK TABLE ${LIST_LAYOUT.staging} IN ACCESS EXCLUSIVE MODE`,
        '-- the catch-up above until no change is left; drop the capture triggers',
        'DROP TRIGGER IF EXISTS chunks_copy_capture ON chunks',
        ...renameSql(LIST_LAYOUT, 'live').slice(0, 1),
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
    pgm.sql(
      planText([
        '-- create chunks_hash (16 HASH partitions), capture changes on chunks, then copy:',
        copyPlanSql(LIST_LAYOUT, HASH_LAYOUT, ctx.batchSize),
        '-- build its keys, indexes and foreign keys per partition, catch up, verify, swap back',
        ...renameSql(LIST_LAYOUT, 'staging').slice(0, 1),
      ]),
    );
    return;
  }
  await moveBackToHash(pgm.db, ctx);
}

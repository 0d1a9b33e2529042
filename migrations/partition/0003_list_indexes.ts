/**
 * partition 0003: completes chunks_list next to the live table: removes rows copied twice (keys
 * that changed during the copy), builds the primary key, the unique key and the seed's four
 * indexes on each partition and attaches them to parent indexes (so a partition attached later
 * gets them too), adds the foreign keys without a long lock on documents (NOT VALID per
 * partition, catch-up, VALIDATE, then the parent constraint adopts them), and ANALYZEs. Online:
 * each statement commits on its own and locks at most one staging partition (see
 * src/families/partition/online/build.ts); a rerun continues from what the catalog shows is done.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import {
  completeStaging,
  dedupeSql,
  stripStaging,
} from '../../src/families/partition/online/build.js';
import { CATCH_UP_SQL } from '../../src/families/partition/online/catchUp.js';
import { HASH_LAYOUT, LIST_LAYOUT } from '../../src/families/partition/online/layouts.js';
import { planText } from '../../src/families/partition/online/sql.js';
import type { MigrationContext } from '../../src/migrate/context.js';

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  if (ctx.dryRun) {
    const ix = LIST_LAYOUT.indexes[2]!;
    pgm.sql(
      planText([
        dedupeSql(LIST_LAYOUT),
        '-- for each of the 6 indexes (primary key, unique key, 4 seed indexes):',
        `CREATE INDEX ${ix.staging} ON ONLY ${LIST_LAYOUT.staging} ${ix.columns}`,
        '-- then for each of the 100 partitions:',
        `CREATE INDEX ${ix.onPartition('chunks_part_00')} ON chunks_part_00 ${ix.columns}`,
        `ALTER INDEX ${ix.staging} ATTACH PARTITION ${ix.onPartition('chunks_part_00')}`,
        '-- foreign keys, for each partition:',
        'ALTER TABLE chunks_part_00 ADD CONSTRAINT chunks_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE NOT VALID',
        `-- catch-up in committed batches of ${ctx.batchSize} keys:`,
        CATCH_UP_SQL,
        'ALTER TABLE chunks_part_00 VALIDATE CONSTRAINT chunks_document_id_fkey',
        `ALTER TABLE ${LIST_LAYOUT.staging} ADD CONSTRAINT chunks_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE`,
        `ANALYZE ${LIST_LAYOUT.staging}`,
      ]),
    );
    return;
  }
  await completeStaging(pgm.db, ctx, HASH_LAYOUT, LIST_LAYOUT);
}

/** Drops the staging table's keys, indexes and foreign keys; its rows stay. */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  if (ctx.dryRun) {
    pgm.sql(`-- drop every constraint and index of ${LIST_LAYOUT.staging} and its partitions`);
    return;
  }
  await stripStaging(pgm.db, ctx, LIST_LAYOUT);
}

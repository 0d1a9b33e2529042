/**
 * partition 0003: completes chunks_list next to the live table: removes rows copied twice (keys
 * that changed during the copy), builds every key and index the LIST layout carries (the
 * original's, unique ones extended with partition_key, plus the seed's; see layouts.ts) on each partition and attaches them to parent indexes (so a partition attached later
 * gets them too), adds the foreign keys without a long lock on documents (NOT VALID per
 * partition, catch-up, VALIDATE, then the parent constraint adopts them), and ANALYZEs. Online:
 * each statement commits on its own and locks at most one staging partition (see
 * src/families/partition/online/build.ts); a rerun continues from what the catalog shows is done.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import {
  completeStaging,
  dedupeSql,
  parentIndexSql,
  partitionIndexSql,
  stripStaging,
} from '../../src/families/partition/online/build.js';
import { CATCH_UP_SQL } from '../../src/families/partition/online/catchUp.js';
import { loadLayouts } from '../../src/families/partition/online/original.js';
import { planText } from '../../src/families/partition/online/sql.js';
import type { MigrationContext } from '../../src/migrate/context.js';

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  const { hash, list } = await loadLayouts(pgm.db, ctx.schema);
  if (ctx.dryRun) {
    const first = list.partitions[0]!.name;
    pgm.sql(
      planText([
        dedupeSql(list),
        `-- the ${list.indexes.length} keys and indexes, each on the parent ...`,
        ...list.indexes.map((ix) => parentIndexSql(list, ix)),
        `-- ... then for each of the ${list.partitions.length} partitions, e.g. ${first}:`,
        ...list.indexes.flatMap((ix) => [
          partitionIndexSql(first, ix.onPartition(first), ix),
          `ALTER INDEX ${ix.staging} ATTACH PARTITION ${ix.onPartition(first)}`,
        ]),
        '-- foreign keys, for each partition NOT VALID, then catch-up, VALIDATE, and on the parent:',
        ...list.foreignKeys.map(
          (fk) => `ALTER TABLE ${first} ADD CONSTRAINT ${fk.name} ${fk.definition} NOT VALID`,
        ),
        `-- catch-up in committed batches of ${ctx.batchSize} keys:`,
        CATCH_UP_SQL,
        ...list.foreignKeys.map((fk) => `ALTER TABLE ${first} VALIDATE CONSTRAINT ${fk.name}`),
        ...list.foreignKeys.map(
          (fk) => `ALTER TABLE ${list.staging} ADD CONSTRAINT ${fk.name} ${fk.definition}`,
        ),
        `ANALYZE ${list.staging}`,
      ]),
    );
    return;
  }
  await completeStaging(pgm.db, ctx, hash, list);
}

/** Drops the staging table's keys, indexes and foreign keys; its rows stay. */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  const { list } = await loadLayouts(pgm.db, ctx.schema);
  if (ctx.dryRun) {
    pgm.sql(`-- drop every constraint and index of ${list.staging} and its partitions`);
    return;
  }
  await stripStaging(pgm.db, ctx, list);
}

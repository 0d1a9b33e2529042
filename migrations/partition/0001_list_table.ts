/**
 * partition 0001: everything the move needs, in one short transaction, nothing copied yet:
 * - the catalog snapshot of the original chunks (columns, keys, indexes with their per-partition
 *   names, foreign keys, CHECKs, triggers, grants, owner, comments), saved in dbops.adopted: every
 *   later step derives both layouts from it, and `down` rebuilds exactly that;
 * - the key function chunk_partition_key(collection_id), the same under Semantik's name
 *   get_partition_key(varchar), and the error functions that make a left-out or wrong key fail
 *   with a message naming the function (partition_key is a plain integer column);
 * - the staging table chunks_list, LIST (partition_key) into chunks_part_00..99 and the DEFAULT
 *   partition chunks_default (with the trigger moving rows of writers that leave the key out),
 *   the original's columns, CHECKs, owner and grants, no indexes;
 * - a nullable chunks.partition_key column on the live HASH table, so writers can be deployed to
 *   set partition_key = chunk_partition_key(collection_id) before the swap (the value is not used:
 *   the copy computes it) and keep working across it;
 * - the capture (trigger recording changed keys) and the copy cursor.
 * Locks: the staging objects first (no lock on chunks), then ADD COLUMN (ACCESS EXCLUSIVE on
 * chunks and its partitions, metadata only) and CREATE TRIGGER (SHARE ROW EXCLUSIVE) at the end,
 * so chunks is locked only for the last milliseconds before COMMIT; lock_timeout bounds the wait.
 * Down is online: see there.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import {
  createMachinerySql,
  DROP_MACHINERY,
  installCaptureSql,
  removeCaptureSql,
  resetProgressSql,
} from '../../src/families/partition/online/capture.js';
import {
  CREATE_KEY_OBJECTS,
  DROP_KEY_OBJECTS,
  KEY_FUNCTION_BODY,
  KEY_MISMATCH_BODY,
  KEY_MISSING_BODY,
  rerouteFunctionSql,
  SEMANTIK_KEY_FUNCTION_BODY,
} from '../../src/families/partition/online/key.js';
import {
  createStagingSql,
  hashLayout,
  listLayout,
} from '../../src/families/partition/online/layouts.js';
import {
  FORGET_ORIGINAL_CHUNKS,
  readChunks,
  saveOriginalChunksSql,
} from '../../src/families/partition/online/original.js';
import { inTransaction, planText } from '../../src/families/partition/online/sql.js';
import type { MigrationContext } from '../../src/migrate/context.js';

export const installs: SchemaManifest = {
  columns: [{ table: 'chunks', columns: ['partition_key'] }],
  functions: [
    { name: 'chunk_partition_key', body: KEY_FUNCTION_BODY },
    { name: 'get_partition_key', body: SEMANTIK_KEY_FUNCTION_BODY },
    { name: 'chunk_partition_key_missing', body: KEY_MISSING_BODY },
    { name: 'chunk_partition_key_mismatch', body: KEY_MISMATCH_BODY },
  ],
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  const original = await readChunks(pgm.db, ctx.schema);
  if (!original) throw new Error(`${ctx.schema}.chunks is missing`);
  const list = listLayout(original);
  pgm.sql(CREATE_KEY_OBJECTS);
  pgm.sql(rerouteFunctionSql(ctx.schema));
  pgm.sql(saveOriginalChunksSql(original));
  pgm.sql(createMachinerySql(ctx.schema));
  pgm.sql(createStagingSql(list));
  pgm.sql(resetProgressSql(list, hashLayout(original)));
  pgm.sql('ALTER TABLE chunks ADD COLUMN partition_key integer');
  pgm.sql(
    "COMMENT ON COLUMN chunks.partition_key IS 'chunk_partition_key(collection_id); required once chunks is LIST-partitioned'",
  );
  for (const statement of installCaptureSql()) pgm.sql(statement);
}

/**
 * Online (two steps, each idempotent): the staging table first, in its own transaction, because
 * nothing uses it and dropping its 100 partitions (their files go at COMMIT) takes a while chunks
 * should not be locked for; it has no foreign keys any more (0002's and 0003's down strip them),
 * so this locks neither collections nor documents. Then one short transaction: the capture before
 * the function it calls, the machinery, the column: ACCESS EXCLUSIVE on chunks for milliseconds.
 */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  const dropStaging = 'DROP TABLE IF EXISTS chunks_list';
  const release = [
    ...removeCaptureSql(),
    DROP_MACHINERY,
    'ALTER TABLE chunks DROP COLUMN IF EXISTS partition_key',
    DROP_KEY_OBJECTS,
    FORGET_ORIGINAL_CHUNKS,
  ];
  if (ctx.dryRun) {
    pgm.sql(planText([dropStaging, 'BEGIN', ...release, 'COMMIT']));
    return;
  }
  await pgm.db.query(dropStaging);
  await inTransaction(pgm.db, async () => {
    for (const statement of release) await pgm.db.query(statement);
  });
}

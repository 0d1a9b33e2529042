/**
 * partition 0001: everything the move needs, in one short transaction, nothing copied yet:
 * - the key function chunk_partition_key(collection_id), the domain chunk_partition (0..99) and
 *   the error functions that make a missing or wrong key fail with a message naming the function;
 * - the staging table chunks_list, LIST (partition_key) into chunks_part_00..99, no indexes;
 * - a nullable chunks.partition_key column on the live HASH table, so writers can be deployed to
 *   set partition_key = chunk_partition_key(collection_id) before the swap (the value is not used:
 *   the copy computes it) and keep working across it;
 * - the capture (trigger recording changed keys) and the copy cursor.
 * Locks: the staging objects first (no lock on chunks), then ADD COLUMN (ACCESS EXCLUSIVE on
 * chunks and its partitions, metadata only) and CREATE TRIGGER (SHARE ROW EXCLUSIVE) at the end,
 * so chunks is locked only for the last milliseconds before COMMIT; lock_timeout bounds the wait.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import type { MigrationContext } from '../../src/migrate/context.js';
import {
  createMachinerySql,
  DROP_MACHINERY,
  installCaptureSql,
  removeCaptureSql,
  resetProgressSql,
} from '../../src/partition/capture.js';
import {
  CREATE_KEY_OBJECTS,
  DROP_KEY_OBJECTS,
  KEY_FUNCTION_BODY,
  KEY_MISMATCH_BODY,
  KEY_REQUIRED_BODY,
} from '../../src/partition/key.js';
import { createStagingSql, HASH_LAYOUT, LIST_LAYOUT } from '../../src/partition/layouts.js';

export const installs: SchemaManifest = {
  columns: [{ table: 'chunks', columns: ['partition_key'] }],
  functions: [
    { name: 'chunk_partition_key', body: KEY_FUNCTION_BODY },
    { name: 'chunk_partition_key_required', body: KEY_REQUIRED_BODY },
    { name: 'chunk_partition_key_mismatch', body: KEY_MISMATCH_BODY },
  ],
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.sql(CREATE_KEY_OBJECTS);
  pgm.sql(createMachinerySql(ctx.schema));
  pgm.sql(createStagingSql(LIST_LAYOUT));
  pgm.sql(resetProgressSql(LIST_LAYOUT, HASH_LAYOUT));
  pgm.sql('ALTER TABLE chunks ADD COLUMN partition_key integer');
  pgm.sql(
    "COMMENT ON COLUMN chunks.partition_key IS 'chunk_partition_key(collection_id); required once chunks is LIST-partitioned'",
  );
  for (const statement of installCaptureSql()) pgm.sql(statement);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  // The capture goes first: no writer may call a trigger function that is about to go.
  // chunks_list has no foreign keys any more (0002's and 0003's down strip them), so nothing here
  // locks collections or documents.
  for (const statement of removeCaptureSql()) pgm.sql(statement);
  pgm.sql(`DROP TABLE IF EXISTS ${LIST_LAYOUT.staging}`);
  pgm.sql(DROP_MACHINERY);
  pgm.sql('ALTER TABLE chunks DROP COLUMN IF EXISTS partition_key');
  pgm.sql(DROP_KEY_OBJECTS);
}

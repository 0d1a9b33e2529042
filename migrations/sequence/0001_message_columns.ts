/**
 * sequence 0001: messages.sequence_number and messages.content_tsv, catalog-only. ADD COLUMN
 * without a default does not rewrite the table: ACCESS EXCLUSIVE on messages for the
 * milliseconds of this transaction, bounded by lock_timeout. Each transactional step of this
 * family locks ONE table: a step holding one table's lock while waiting for another's can
 * deadlock with an application transaction that takes them in the other order.
 *
 * sequence_number NULL means "not numbered yet": old rows until the backfill (0007), and rows
 * written into a conversation whose counters the backfill has not computed yet.
 *
 * content_tsv is a plain column, not Nova's STORED generated column: adding that rewrote the whole
 * table under ACCESS EXCLUSIVE (minutes of downtime on a big table). Here 0003's trigger fills it
 * for new and edited rows, the backfill for old ones (in the same row write that numbers them, so
 * each old row is rewritten once, not twice), and 0008 indexes it with GIN concurrently; the
 * application reads and searches `content_tsv` exactly as with the generated column. An
 * expression index on to_tsvector(content) would avoid the writes, but every query would have to
 * repeat the expression and there would be no `content_tsv` column.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import {
  CREATE_ORIGINALS_SQL,
  columnExists,
  DEFAULT_NAME,
  isAdopted,
  ORIGINALS_TABLE,
  RESTORE_ORIGINALS_BATCH,
  SAVE_DEFAULT_SQL,
  SEQUENCE_STATE_NAME,
} from '../../src/families/sequence/adopt.js';
import { FORGET_KEPT_SQL, KEEP_IDENTICAL_SQL } from '../../src/families/sequence/adoptIdentical.js';
import { restoreOriginalSql } from '../../src/migrate/adopt.js';
import { type MigrationContext, runBatches } from '../../src/migrate/context.js';
import { execOnline } from '../../src/migrate/online.js';

export const installs: SchemaManifest = {
  columns: [{ table: 'messages', columns: ['sequence_number', 'content_tsv'] }],
};

/**
 * An existing sequence_number (Nova's global BIGSERIAL; preflight checked it is one) is adopted,
 * not added: see src/families/sequence/adopt.ts. Only its default is saved here; its values are
 * saved by the backfill, each in the statement that renumbers it.
 *
 * The first migration of a fresh up also records the operator's indexes and CHECKs identical to
 * the family's (src/families/sequence/adoptIdentical.ts): 0008 and 0009 keep them, down leaves
 * them.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(KEEP_IDENTICAL_SQL);
  if (await columnExists(pgm, 'messages', 'sequence_number')) {
    pgm.sql(CREATE_ORIGINALS_SQL);
    pgm.sql(SAVE_DEFAULT_SQL);
    pgm.sql('ALTER TABLE messages ADD COLUMN content_tsv tsvector');
    return;
  }
  pgm.sql(`
ALTER TABLE messages
  ADD COLUMN sequence_number bigint,
  ADD COLUMN content_tsv tsvector`);
}

/**
 * DROP COLUMN is catalog-only too (the space is reclaimed as rows are rewritten). An adopted
 * sequence_number stays: every saved original number is put back in committed batches (a full
 * pass over the saved rows, with the application's triggers off when the engine allows it), then
 * what dbops kept about it is forgotten.
 */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  if (!(await isAdopted(pgm))) {
    pgm.sql(`
ALTER TABLE messages
  DROP COLUMN IF EXISTS content_tsv,
  DROP COLUMN IF EXISTS sequence_number`);
    pgm.sql(FORGET_KEPT_SQL);
    return;
  }
  pgm.noTransaction();
  await runBatches(pgm, ctx, {
    label: 'sequence: original numbers put back',
    sql: RESTORE_ORIGINALS_BATCH,
    writesBaseTable: true,
  });
  // No-ops when 0003's down already restored them (an up that stopped before 0003 did not).
  await execOnline(pgm, ctx, restoreOriginalSql('sequence', 'sql', DEFAULT_NAME));
  await execOnline(pgm, ctx, restoreOriginalSql('sequence', 'sql', SEQUENCE_STATE_NAME));
  await execOnline(pgm, ctx, 'ALTER TABLE messages DROP COLUMN IF EXISTS content_tsv');
  await execOnline(pgm, ctx, `DROP TABLE IF EXISTS ${ORIGINALS_TABLE}`);
  await execOnline(pgm, ctx, FORGET_KEPT_SQL);
}

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

export const installs: SchemaManifest = {
  columns: [{ table: 'messages', columns: ['sequence_number', 'content_tsv'] }],
};

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
ALTER TABLE messages
  ADD COLUMN sequence_number bigint,
  ADD COLUMN content_tsv tsvector`);
}

/** DROP COLUMN is catalog-only too (the space is reclaimed as rows are rewritten). */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
ALTER TABLE messages
  DROP COLUMN IF EXISTS content_tsv,
  DROP COLUMN IF EXISTS sequence_number`);
}

/**
 * sequence 0001: the new columns, catalog-only. ADD COLUMN without a default (or with a constant
 * one) does not rewrite the table in PostgreSQL >= 11: each ALTER holds ACCESS EXCLUSIVE on
 * messages / conversations for the milliseconds of this transaction, bounded by lock_timeout.
 *
 * Every existing row gets NULL, and NULL has a meaning until the backfill (0004) has run:
 * - messages.sequence_number NULL: not numbered yet.
 * - conversations.last_sequence_number NULL: this conversation's history and counters have not
 *   been computed yet. The triggers (0002, 0003) leave such a conversation's counters NULL and the
 *   backfill computes them from scratch. 0003 sets the defaults so that conversations created
 *   from then on start initialised (0 and 0).
 * - messages.content_tsv: a plain column, not Nova's STORED generated column (that rewrote the
 *   whole table under ACCESS EXCLUSIVE). 0002's trigger fills it for new and edited rows, 0004's
 *   batches for old ones, 0005 indexes it with GIN concurrently; the application reads and
 *   searches `content_tsv` exactly as with the generated column. An expression index on
 *   to_tsvector(content) would avoid the writes, but every query would have to repeat the
 *   expression and `content_tsv` would not exist as a column.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';

export const installs: SchemaManifest = {
  columns: [
    { table: 'messages', columns: ['sequence_number', 'content_tsv'] },
    {
      table: 'conversations',
      columns: ['last_sequence_number', 'member_count', 'last_message_id', 'last_message_at'],
    },
  ],
};

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
ALTER TABLE messages
  ADD COLUMN sequence_number bigint,
  ADD COLUMN content_tsv tsvector`);
  pgm.sql(`
ALTER TABLE conversations
  ADD COLUMN last_sequence_number bigint,
  ADD COLUMN member_count integer,
  ADD COLUMN last_message_id uuid,
  ADD COLUMN last_message_at timestamptz`);
}

/** DROP COLUMN is catalog-only too (the space is reclaimed as rows are rewritten). */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
ALTER TABLE conversations
  DROP COLUMN IF EXISTS last_message_at,
  DROP COLUMN IF EXISTS last_message_id,
  DROP COLUMN IF EXISTS member_count,
  DROP COLUMN IF EXISTS last_sequence_number`);
  pgm.sql(`
ALTER TABLE messages
  DROP COLUMN IF EXISTS content_tsv,
  DROP COLUMN IF EXISTS sequence_number`);
}

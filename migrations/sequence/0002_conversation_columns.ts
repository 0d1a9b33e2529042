/**
 * sequence 0002: the conversation counters, catalog-only (ACCESS EXCLUSIVE on conversations for
 * milliseconds, bounded by lock_timeout).
 *
 * Existing rows get NULL, and last_sequence_number NULL means "this conversation's history and
 * counters have not been computed yet": the triggers (0003-0005) apply no delta to a NULL counter
 * (NULL + 1 is NULL) and the backfill (0007) computes it from scratch. 0006 sets the defaults, once
 * every trigger is in place, so that conversations created from then on start initialised.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';

export const installs: SchemaManifest = {
  columns: [
    {
      table: 'conversations',
      columns: ['last_sequence_number', 'member_count', 'last_message_id', 'last_message_at'],
    },
  ],
};

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
ALTER TABLE conversations
  ADD COLUMN last_sequence_number bigint,
  ADD COLUMN member_count integer,
  ADD COLUMN last_message_id uuid,
  ADD COLUMN last_message_at timestamptz`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
ALTER TABLE conversations
  DROP COLUMN IF EXISTS last_message_at,
  DROP COLUMN IF EXISTS last_message_id,
  DROP COLUMN IF EXISTS member_count,
  DROP COLUMN IF EXISTS last_sequence_number`);
}

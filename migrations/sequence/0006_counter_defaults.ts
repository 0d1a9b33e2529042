/**
 * sequence 0006: defaults 0 for last_sequence_number and member_count, now that every trigger
 * (0003-0005) is in place. ALTER COLUMN ... SET DEFAULT is catalog-only (ACCESS EXCLUSIVE on
 * conversations for milliseconds, bounded by lock_timeout); existing rows keep their NULL.
 *
 * A conversation created from this commit on starts initialised: counter 0, no member, no
 * message, every later change applied by the triggers, so the backfill (0007), which visits the
 * conversations whose counter is NULL, skips it. One created earlier (NULL) is backfilled.
 * A separate step because the triggers lock messages / conversation_members and this locks
 * conversations: one table per transaction (see 0001).
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
ALTER TABLE conversations
  ALTER COLUMN last_sequence_number SET DEFAULT 0,
  ALTER COLUMN member_count SET DEFAULT 0`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
ALTER TABLE conversations
  ALTER COLUMN member_count DROP DEFAULT,
  ALTER COLUMN last_sequence_number DROP DEFAULT`);
}

/**
 * Adoption of an existing messages.sequence_number (Nova's migration 031: a global BIGSERIAL,
 * NOT NULL, DEFAULT nextval of its owned sequence, read by the running application).
 *
 * The column is converted in place instead of being dropped:
 * - 0001 creates ORIGINALS_TABLE (its existence is what says "adopted" to the later steps) and
 *   saves the column's default in dbops.adopted. NOT NULL stays: the application reads the number
 *   right after its insert and must never get NULL.
 * - While a conversation's counter is still NULL, 0003's trigger leaves the default's global
 *   number in place; the backfill (0007) then renumbers the whole conversation 1..n in
 *   (created_at, id) order, saving each message's original number in ORIGINALS_TABLE in the same
 *   statement that overwrites it. After the backfill 0007 saves the sequence's state and drops the
 *   default (in one transaction): from then on the trigger alone numbers messages.
 * - Down: 0003 restores the default and the sequence's state and gives the messages numbered by
 *   the trigger while the family was applied (not in ORIGINALS_TABLE) new global numbers from the
 *   restored sequence, in (created_at, id) order; 0001 puts every saved original back, in
 *   batches, and drops ORIGINALS_TABLE.
 *
 * One ORIGINALS_TABLE per database: the family applied to two schemas of one database with an
 * adopted column each is not supported.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { saveOriginalSql } from '../../migrate/adopt.js';

export const ORIGINALS_TABLE = 'dbops.sequence_original_numbers';

/** dbops.adopted names (kind 'sql') of what adoption changes on the column and its sequence. */
export const DEFAULT_NAME = 'messages.sequence_number default';
export const SEQUENCE_STATE_NAME = 'messages.sequence_number sequence state';

export async function columnExists(pgm: MigrationBuilder, table: string, column: string) {
  const rows = await pgm.db.select(
    `SELECT 1 FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped`,
    [table, column],
  );
  return rows.length > 0;
}

/** True once 0001 adopted the column (and until 0001's down forgets it). */
export async function isAdopted(pgm: MigrationBuilder): Promise<boolean> {
  const rows = await pgm.db.select('SELECT to_regclass($1) IS NOT NULL AS adopted', [
    ORIGINALS_TABLE,
  ]);
  return (rows[0] as { adopted: boolean } | undefined)?.adopted === true;
}

export const CREATE_ORIGINALS_SQL = `CREATE SCHEMA IF NOT EXISTS dbops;
CREATE TABLE IF NOT EXISTS ${ORIGINALS_TABLE} (
  message_id uuid PRIMARY KEY,
  sequence_number bigint NOT NULL
)`;

/** The column's current default as the DDL that sets it again (search_path = the family's schema). */
export const SAVE_DEFAULT_SQL = saveOriginalSql(
  'sequence',
  'sql',
  DEFAULT_NAME,
  `SELECT format('ALTER TABLE %s ALTER COLUMN sequence_number SET DEFAULT %s',
                 d.adrelid::regclass, pg_get_expr(d.adbin, d.adrelid))
     FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
    WHERE d.adrelid = 'messages'::regclass AND a.attname = 'sequence_number'`,
);

/** The owned sequence's position as a setval() that puts it back exactly. */
export const SAVE_SEQUENCE_STATE_SQL = saveOriginalSql(
  'sequence',
  'sql',
  SEQUENCE_STATE_NAME,
  `SELECT format('SELECT setval(%L::regclass, %s, %s)', s.seqrelid::regclass,
                 coalesce(pg_sequence_last_value(s.seqrelid::regclass), s.seqstart),
                 CASE WHEN pg_sequence_last_value(s.seqrelid::regclass) IS NULL
                      THEN 'false' ELSE 'true' END)
     FROM pg_sequence s
    WHERE s.seqrelid = pg_get_serial_sequence('messages', 'sequence_number')::regclass`,
);

/** Saves the sequence's state and drops the default in one transaction (one simple query). */
export const HAND_OVER_TO_TRIGGER_SQL = `BEGIN;
${SAVE_SEQUENCE_STATE_SQL}
ALTER TABLE messages ALTER COLUMN sequence_number DROP DEFAULT;
COMMIT`;

/**
 * Messages the trigger numbered while the family was applied (their conversation is counted and
 * they have no saved original) get new global numbers from the restored sequence, oldest first.
 * Messages of conversations still uncounted (an interrupted up) kept their global number.
 */
export const RENUMBER_NEW_MESSAGES_SQL = `WITH todo AS (
  SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
   WHERE c.last_sequence_number IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM ${ORIGINALS_TABLE} o WHERE o.message_id = m.id)
   ORDER BY m.created_at ASC NULLS FIRST, m.id
), numbered AS (
  SELECT id, nextval(pg_get_serial_sequence('messages', 'sequence_number')) AS n FROM todo
)
UPDATE messages m SET sequence_number = numbered.n FROM numbered WHERE m.id = numbered.id`;

/** One batch of 0001's down: puts saved originals back, in message id order. */
export const RESTORE_ORIGINALS_BATCH = `WITH batch AS (
  SELECT message_id, sequence_number FROM ${ORIGINALS_TABLE}
   WHERE $1::uuid IS NULL OR message_id > $1::uuid
   ORDER BY message_id LIMIT $2::integer
), written AS (
  UPDATE messages m SET sequence_number = b.sequence_number FROM batch b
   WHERE m.id = b.message_id AND m.sequence_number IS DISTINCT FROM b.sequence_number
  RETURNING 1
)
SELECT (SELECT message_id::text FROM batch ORDER BY message_id DESC LIMIT 1) AS next,
       (SELECT count(*) FROM batch) AS keys, (SELECT count(*) FROM written) AS rows`;

/**
 * Adoption of conversation columns 0002 would add but the deployment already has with the same
 * meaning: member_count, last_message_id, last_message_at (Nova's messaging service created
 * member_count and last_message_id itself; a deployment that ran part of Nova's 060 has them too).
 *
 * The preflight (preflight.ts) lets one through only when it has the expected type, is a plain
 * column, and the operator declared in the config that nothing but dbops will write it
 * (`columnWriters: {"conversations.member_count": "dbops"}`): the catalog cannot tell whether the
 * application writes it, and if it does, dbops' triggers would count every change twice.
 *
 * - 0002 up: SAVED_TABLE gets one row per conversation with the adopted columns' values (its
 *   columns ARE the adopted set: the later steps and down read them from the catalog), and each
 *   adopted column's default is saved in dbops.adopted; the missing columns are added.
 * - The triggers and the backfill then treat an adopted column like one they added: a
 *   conversation is "not computed yet" while its last_sequence_number (always added by dbops) is
 *   NULL; the backfill overwrites the adopted values with computed ones.
 * - 0002 down: every saved value is put back in committed batches, each adopted column gets its
 *   own default back, and only the columns dbops added are dropped. Conversations created while
 *   the family was applied have no saved value and keep the one dbops computed.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { saveOriginalSql } from '../../migrate/adopt.js';

export const SAVED_TABLE = 'dbops.sequence_original_conversations';

/** The conversation columns 0002 adds, with the type each must have to be adopted. */
export const CONVERSATION_COLUMNS: [column: string, type: string, adoptable: boolean][] = [
  ['last_sequence_number', 'bigint', false],
  ['member_count', 'integer', true],
  ['last_message_id', 'uuid', true],
  ['last_message_at', 'timestamp with time zone', true],
];

/** dbops.adopted name (kind 'sql') of an adopted column's default. */
export const defaultName = (column: string) => `conversations.${column} default`;

/** Of the adoptable columns, those that exist on conversations (search_path = the family's schema). */
export async function existingConversationColumns(pgm: MigrationBuilder): Promise<string[]> {
  const adoptable = CONVERSATION_COLUMNS.filter((c) => c[2]).map((c) => c[0]);
  const rows = (await pgm.db.select(
    `SELECT attname::text AS name FROM pg_attribute
      WHERE attrelid = to_regclass('conversations') AND attname = ANY ($1::text[])
        AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [adoptable],
  )) as { name: string }[];
  return rows.map((r) => r.name);
}

/** The adopted columns, as the saved table's columns say (empty when nothing was adopted). */
export async function adoptedConversationColumns(pgm: MigrationBuilder): Promise<string[]> {
  const rows = (await pgm.db.select(
    `SELECT attname::text AS name FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attname <> 'conversation_id'
        AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [SAVED_TABLE],
  )) as { name: string }[];
  return rows.map((r) => r.name);
}

/**
 * Saves the values of `columns` (names from CONVERSATION_COLUMNS only) and their defaults, for
 * 0002's transaction: the read takes ACCESS SHARE only, before 0002's ALTER TABLE.
 */
export function saveConversationColumnsSql(columns: string[]): string[] {
  const list = columns.join(', ');
  return [
    `CREATE SCHEMA IF NOT EXISTS dbops;
CREATE TABLE ${SAVED_TABLE} AS SELECT id AS conversation_id, ${list} FROM conversations;
ALTER TABLE ${SAVED_TABLE} ADD PRIMARY KEY (conversation_id)`,
    ...columns.map((column) =>
      saveOriginalSql(
        'sequence',
        'sql',
        defaultName(column),
        `SELECT format('ALTER TABLE %s ALTER COLUMN %I %s', a.attrelid::regclass, a.attname,
                       coalesce('SET DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), 'DROP DEFAULT'))
           FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = 'conversations'::regclass AND a.attname = '${column}'`,
      ),
    ),
  ];
}

/** One batch of 0002's down: saved values back, in conversation id order (runBatches' contract). */
export function restoreConversationsBatchSql(columns: string[]): string {
  const set = columns.map((c) => `${c} = b.${c}`).join(', ');
  const differs = `(${columns.map((c) => `c.${c}`).join(', ')}) IS DISTINCT FROM (${columns.map((c) => `b.${c}`).join(', ')})`;
  return `WITH batch AS (
  SELECT * FROM ${SAVED_TABLE}
   WHERE $1::uuid IS NULL OR conversation_id > $1::uuid
   ORDER BY conversation_id LIMIT $2::integer
), written AS (
  UPDATE conversations c SET ${set} FROM batch b
   WHERE c.id = b.conversation_id AND ${differs}
  RETURNING 1
)
SELECT (SELECT conversation_id::text FROM batch ORDER BY conversation_id DESC LIMIT 1) AS next,
       (SELECT count(*) FROM batch) AS keys, (SELECT count(*) FROM written) AS rows`;
}

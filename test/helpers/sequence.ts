import type pg from 'pg';

/** What is wrong with the sequence family's data, computed independently of dbops' SQL. */
export interface SequenceDrift {
  /** Messages sharing (conversation_id, sequence_number) with another message. */
  duplicates: number;
  /** Messages without a number. */
  nulls: number;
  /** Conversations whose numbers are not exactly 1..n. */
  gaps: number;
  /** Conversations whose last_sequence_number is not their max number (0 without messages). */
  counter: number;
  /** Conversations whose member_count is not the number of their members. */
  memberCount: number;
  /** Conversations whose last message is not the newest by (created_at, id), or dangles. */
  lastMessage: number;
}

export async function sequenceDrift(
  client: pg.ClientBase,
  schema = 'public',
): Promise<SequenceDrift> {
  const s = `"${schema}"`;
  const { rows } = await client.query(`
    WITH per AS (
      SELECT c.id, c.last_sequence_number, c.member_count, c.last_message_id, c.last_message_at,
             m.n, m.max_seq, m.min_seq, m.distinct_seq,
             (SELECT count(*) FROM ${s}.conversation_members cm WHERE cm.conversation_id = c.id) AS members,
             t.id AS true_last_id, t.created_at AS true_last_at
        FROM ${s}.conversations c
        LEFT JOIN LATERAL (SELECT count(*) AS n, max(sequence_number) AS max_seq,
                                  min(sequence_number) AS min_seq,
                                  count(DISTINCT sequence_number) AS distinct_seq
                             FROM ${s}.messages WHERE conversation_id = c.id) m ON true
        LEFT JOIN LATERAL (SELECT DISTINCT ON (conversation_id) id, created_at
                             FROM ${s}.messages
                            WHERE conversation_id = c.id AND created_at IS NOT NULL
                            ORDER BY conversation_id, created_at DESC, id DESC) t ON true)
    SELECT
      (SELECT count(*) FROM (SELECT conversation_id, sequence_number, count(*) OVER (PARTITION BY conversation_id, sequence_number) AS k
                               FROM ${s}.messages WHERE sequence_number IS NOT NULL) d WHERE k > 1)::int AS duplicates,
      (SELECT count(*) FROM ${s}.messages WHERE sequence_number IS NULL)::int AS nulls,
      (SELECT count(*) FROM per WHERE n > 0 AND (min_seq <> 1 OR max_seq <> n OR distinct_seq <> n))::int AS gaps,
      (SELECT count(*) FROM per WHERE last_sequence_number IS DISTINCT FROM coalesce(max_seq, 0))::int AS counter,
      (SELECT count(*) FROM per WHERE member_count IS DISTINCT FROM members::int)::int AS "memberCount",
      (SELECT count(*) FROM per WHERE last_message_id IS DISTINCT FROM true_last_id
                                   OR last_message_at IS DISTINCT FROM true_last_at)::int AS "lastMessage"`);
  return rows[0] as SequenceDrift;
}

export const NO_DRIFT: SequenceDrift = {
  duplicates: 0,
  nulls: 0,
  gaps: 0,
  counter: 0,
  memberCount: 0,
  lastMessage: 0,
};

/**
 * Messages (matching `where`, SQL over alias m) whose number is not their rank by (created_at
 * ascending with NULLs first, id) among the matching messages of their conversation.
 */
export async function misnumbered(client: pg.ClientBase, where = 'true'): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`
    SELECT count(*)::int AS n FROM (
      SELECT m.sequence_number,
             row_number() OVER (PARTITION BY m.conversation_id
                                ORDER BY m.created_at ASC NULLS FIRST, m.id) AS rank
        FROM messages m WHERE ${where}) r
     WHERE sequence_number IS DISTINCT FROM rank`);
  return rows[0]!.n;
}

/** Conversation ids in id order. */
export async function conversationIds(client: pg.ClientBase, limit = 1_000_000): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM conversations ORDER BY id LIMIT $1',
    [limit],
  );
  return rows.map((r) => r.id);
}

/** One message into `conversation`; returns its id and number. */
export async function sendMessage(
  client: pg.ClientBase,
  conversation: string,
  createdAt: string | Date | null = new Date(),
  id?: string,
): Promise<{ id: string; sequence_number: string | null }> {
  const { rows } = await client.query(
    `INSERT INTO messages (id, conversation_id, sender_id, content, created_at)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, gen_random_uuid(), 'hello there', $3)
     RETURNING id, sequence_number`,
    [id ?? null, conversation, createdAt],
  );
  return rows[0];
}

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

/** Keys each sequence check must report after corruptSequence, by check id. */
export type CorruptionKeys = Record<
  | 'sequence.nulls'
  | 'sequence.duplicates'
  | 'sequence.counter'
  | 'sequence.gaps'
  | 'conversation.member-count'
  | 'conversation.last-message',
  string[]
>;

/**
 * Breaks the family's data in every way the checks and resync targets claim to handle, on 11
 * conversations with at least 5 messages and a member (id order), and returns the keys each
 * check must report (sorted): drops the unique index (a schema finding), writes with the triggers
 * disabled (3 unnumbered messages newer than the last message; copies of 2 conversations'
 * highest numbers, without created_at), lowers 2 counters, deletes a middle message and raises a counter (gaps),
 * shifts 2 member counts, and points a last_message_id at nothing.
 */
export async function corruptSequence(client: pg.ClientBase): Promise<CorruptionKeys> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT c.id FROM conversations c
      WHERE (SELECT count(*) FROM messages WHERE conversation_id = c.id) >= 5
        AND EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = c.id)
      ORDER BY c.id LIMIT 11`,
  );
  const [a, c, d, e, f, g, h, i, j, k] = rows.map((r) => r.id) as string[];
  await client.query('DROP INDEX IF EXISTS uq_messages_conversation_sequence');
  await client.query('ALTER TABLE messages DISABLE TRIGGER USER');
  const nulls = await client.query<{ id: string }>(
    `INSERT INTO messages (conversation_id, sender_id, content, created_at)
     SELECT $1, gen_random_uuid(), 'bulk', timestamptz '2030-01-01' + g * interval '1 minute'
       FROM generate_series(1, 3) g RETURNING id`,
    [a],
  );
  // Copies of each conversation's highest number: its original is the newest message, which
  // has a created_at, so it is the copy that the resync renumbers.
  const copies = await client.query<{ id: string }>(
    `INSERT INTO messages (conversation_id, sender_id, content, created_at, sequence_number)
     SELECT id, gen_random_uuid(), 'copy', NULL, last_sequence_number
       FROM conversations WHERE id IN ($1, $2) RETURNING id`,
    [c, d],
  );
  await client.query('ALTER TABLE messages ENABLE TRIGGER USER');
  const originals = await client.query<{ id: string }>(
    `SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE c.id IN ($1, $2) AND m.sequence_number = c.last_sequence_number AND m.content <> 'copy'`,
    [c, d],
  );
  await client.query(
    'UPDATE conversations SET last_sequence_number = last_sequence_number - 1 WHERE id IN ($1, $2)',
    [e, f],
  );
  await client.query('DELETE FROM messages WHERE conversation_id = $1 AND sequence_number = 2', [
    g,
  ]);
  await client.query(
    'UPDATE conversations SET last_sequence_number = last_sequence_number + 5 WHERE id = $1',
    [h],
  );
  await client.query('UPDATE conversations SET member_count = member_count + 1 WHERE id = $1', [i]);
  await client.query('UPDATE conversations SET member_count = 0 WHERE id = $1', [j]);
  await client.query('UPDATE conversations SET last_message_id = gen_random_uuid() WHERE id = $1', [
    k,
  ]);
  const sorted = (xs: string[]) => [...xs].sort();
  return {
    'sequence.nulls': sorted(nulls.rows.map((r) => r.id)),
    'sequence.duplicates': sorted([...copies.rows, ...originals.rows].map((r) => r.id)),
    'sequence.counter': sorted([e!, f!]),
    'sequence.gaps': sorted([g!, h!]),
    'conversation.member-count': sorted([i!, j!]),
    'conversation.last-message': sorted([a!, k!]),
  };
}

/**
 * One application transaction over `conversations` (visited in id order, the documented order):
 * 1-3 messages each, created_at around `at` (epoch seconds, some back-dated), and sometimes a
 * member joins or leaves. Rolled back with probability `rollback`.
 */
export async function chatTransaction(
  client: pg.Client,
  conversations: string[],
  at: number,
  rollback: number,
): Promise<'committed' | 'rolled back'> {
  await client.query('BEGIN');
  try {
    for (const c of [...new Set(conversations)].sort()) {
      await client.query(
        `INSERT INTO messages (conversation_id, sender_id, content, created_at)
         SELECT $1, gen_random_uuid(), 'writer ' || g, to_timestamp($2 + (random() * 600 - 300)::int)
           FROM generate_series(1, $3) g`,
        [c, at, 1 + Math.floor(Math.random() * 3)],
      );
      const dice = Math.random();
      if (dice < 0.15)
        await client.query(
          'INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, gen_random_uuid())',
          [c],
        );
      else if (dice < 0.25)
        await client.query(
          `DELETE FROM conversation_members
            WHERE id = (SELECT id FROM conversation_members WHERE conversation_id = $1 LIMIT 1)`,
          [c],
        );
    }
    if (Math.random() < rollback) {
      await client.query('ROLLBACK');
      return 'rolled back';
    }
    await client.query('COMMIT');
    return 'committed';
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

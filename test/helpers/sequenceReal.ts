import pg from 'pg';

/** Adds `n` messages to the conversations of sequence_real.sql the way Nova does (INSERT, numbers from the default). */
export async function addNovaMessages(client: pg.ClientBase, n: number): Promise<void> {
  await client.query(
    `INSERT INTO messages (id, conversation_id, sender_id, encrypted_content, nonce, created_at, content)
     SELECT md5('extra' || g)::uuid, md5('conv' || (1 + (g * 7) % 1200))::uuid,
            md5('user' || (1 + g % 300))::uuid, 'x', 'n',
            CASE WHEN g % 300 = 0 THEN NULL
                 ELSE timestamptz '2025-11-01' + ((g::bigint * 104729) % 60000) * interval '1 minute' END,
            'extra message ' || g
       FROM generate_series(1, $1::integer) g`,
    [n],
  );
}

/** id -> sequence_number of every message, as one fingerprint plus the map. */
export async function messageNumbers(client: pg.ClientBase): Promise<Map<string, string>> {
  const { rows } = await client.query<{ id: string; n: string }>(
    'SELECT id, sequence_number::text AS n FROM messages',
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** Conversations whose numbers repeat, or (contiguous: deletes make gaps) are not exactly 1..count, or whose counters disagree with the rows. */
export async function wrongConversations(
  client: pg.ClientBase,
  contiguous = true,
): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM conversations c
       LEFT JOIN (SELECT conversation_id, count(*) AS k, count(DISTINCT sequence_number) AS d,
                         min(sequence_number) AS lo, max(sequence_number) AS hi
                    FROM messages GROUP BY conversation_id) m ON m.conversation_id = c.id
      WHERE coalesce(m.k, 0) <> coalesce(m.d, 0) OR m.lo < 1
         OR ($1 AND (coalesce(m.hi, 0) <> coalesce(m.k, 0) OR c.last_sequence_number <> coalesce(m.hi, 0)))
         OR c.last_sequence_number < coalesce(m.hi, 0)
         OR c.member_count <> (SELECT count(*) FROM conversation_members cm WHERE cm.conversation_id = c.id)`,
    [contiguous],
  );
  return Number(rows[0]!.n);
}

/**
 * Nova's message send until `stop()`: INSERT, then read the number back as the service does
 * (`let seq: i64 = result.get("sequence_number")`, which panics on NULL). Returns what it saw.
 */
export function startNovaWriter(url: string, conversations: string[], sender: string) {
  let running = true;
  const seen = { sent: 0, nullNumbers: 0, errors: [] as string[] };
  const done = (async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (let i = 0; running; i++) {
        const conv = conversations[i % conversations.length]!;
        try {
          const ins = await client.query<{ id: string }>(
            `INSERT INTO messages (conversation_id, sender_id, encrypted_content, nonce, content)
             VALUES ($1, $2, 'x', 'n', 'sent during migration') RETURNING id`,
            [conv, sender],
          );
          const read = await client.query<{ sequence_number: string | null }>(
            'SELECT id, sequence_number FROM messages WHERE id = $1',
            [ins.rows[0]!.id],
          );
          if (read.rows[0]?.sequence_number == null) seen.nullNumbers += 1;
          seen.sent += 1;
        } catch (err) {
          seen.errors.push((err as Error).message);
        }
      }
    } finally {
      await client.end();
    }
    return seen;
  })();
  return {
    stop: () => {
      running = false;
      return done;
    },
  };
}

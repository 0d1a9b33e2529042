import pg from 'pg';

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
 * after 060 (seed 002_5dc26d723e23e88a: `SELECT id, sequence_number FROM messages WHERE id = $1`,
 * then `let seq: i64 = result.get("sequence_number")`, which panics on NULL). Every third id
 * sent goes into `sent` (for a hard-deleting loop). Returns what it saw.
 */
export function startNovaWriter(
  url: string,
  conversations: string[],
  sender: string,
  sent: string[] = [],
) {
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
          if (i % 3 === 0) sent.push(ins.rows[0]!.id);
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

/** What one of Nova's application loops did: operations done and the errors it got. */
export interface LoopResult {
  ops: number;
  errors: string[];
}

/** Runs `step(client, i)` on its own connection until stop(); each failure is recorded, not thrown. */
export function startLoop(
  url: string,
  step: (client: pg.Client, i: number) => Promise<unknown>,
): { stop(): Promise<LoopResult> } {
  let running = true;
  const result: LoopResult = { ops: 0, errors: [] };
  const done = (async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (let i = 0; running; i++) {
        try {
          await step(client, i);
          result.ops += 1;
        } catch (err) {
          result.errors.push((err as Error).message);
        }
      }
    } finally {
      await client.end();
    }
    return result;
  })();
  return {
    stop: () => {
      running = false;
      return done;
    },
  };
}

/**
 * Nova's other writes, each as its service runs it: an edit (content + edited_at), a soft
 * delete (deleted_at), a hard delete of a message this test sent (no search-index row, so the
 * index does not change), and a member joining and leaving. Edits and soft deletes are UPDATEs
 * of messages: on sequence_real.sql they fail on Nova's own trigger, before and after dbops.
 */
export const NOVA_WRITES = {
  edit: (c: pg.Client, i: number) =>
    c.query(
      `UPDATE messages SET content = 'edited ' || $1::int, edited_at = now(), version_number = version_number + 1
        WHERE id = md5('msg' || (1 + $1::int % 12000))::uuid`,
      [i],
    ),
  softDelete: (c: pg.Client, i: number) =>
    c.query(
      `UPDATE messages SET deleted_at = now() WHERE id = md5('msg' || (1 + $1::int % 12000))::uuid`,
      [i],
    ),
  /** Deletes the oldest id in `sent` (ids startNovaWriter put there), if any; counts in `deleted`. */
  hardDelete: async (c: pg.Client, sent: string[], deleted: { rows: number }) => {
    const id = sent.shift();
    // Nothing to delete yet: wait a little (a loop of resolved promises would starve the event loop).
    if (id === undefined) return new Promise((resolve) => setTimeout(resolve, 10));
    const result = await c.query('DELETE FROM messages WHERE id = $1', [id]);
    deleted.rows += result.rowCount ?? 0;
  },
  memberJoinAndLeave: async (c: pg.Client, i: number) => {
    const conv = `conv${1 + ((i * 37) % 1200)}`;
    await c.query(
      `INSERT INTO conversation_members (conversation_id, user_id) VALUES (md5($1)::uuid, md5('user' || $2::int)::uuid)
       ON CONFLICT DO NOTHING`,
      [conv, 1 + (i % 300)],
    );
    await c.query(
      `DELETE FROM conversation_members WHERE conversation_id = md5($1)::uuid AND user_id = md5('user' || $2::int)::uuid
         AND role = 'member' AND joined_at > now() - interval '1 hour'`,
      [conv, 1 + (i % 300)],
    );
  },
};

/**
 * Remembers which messages exist now (in schema dbops_test, outside every snapshot) and returns
 * messages' columns as they are now, quoted, without sequence_number: the "original columns".
 */
export async function rememberPreexisting(client: pg.ClientBase): Promise<string[]> {
  await client.query(`CREATE SCHEMA dbops_test;
    CREATE TABLE dbops_test.preexisting AS SELECT id FROM messages;
    ALTER TABLE dbops_test.preexisting ADD PRIMARY KEY (id)`);
  const { rows } = await client.query<{ col: string }>(
    `SELECT quote_ident(attname) AS col FROM pg_attribute
      WHERE attrelid = 'messages'::regclass AND attnum > 0 AND NOT attisdropped
        AND attname <> 'sequence_number' ORDER BY attnum`,
  );
  return rows.map((r) => r.col);
}

/**
 * Checksums of the pre-existing messages: over their original columns (without the number), and
 * over (id, sequence_number), so that "every original global number is back" is one comparison.
 */
export async function preexistingChecksums(
  client: pg.ClientBase,
  columns: string[],
): Promise<{ columns: string; numbers: string }> {
  const { rows } = await client.query<{ columns: string; numbers: string; n: string }>(
    `SELECT count(*) AS n,
            md5(string_agg(row(${columns.map((c) => `m.${c}`).join(', ')})::text, E'\\n' ORDER BY m.id)) AS columns,
            md5(string_agg(m.id || ':' || m.sequence_number, E'\\n' ORDER BY m.id)) AS numbers
       FROM messages m JOIN dbops_test.preexisting p ON p.id = m.id`,
  );
  const r = rows[0]!;
  return { columns: `${r.n}:${r.columns}`, numbers: `${r.n}:${r.numbers}` };
}

/**
 * Makes `role` (a new LOGIN role) own Nova's three tables, with the rights `migrate up` needs
 * and no superuser: the case where session_replication_role may not be set. Returns its URL.
 */
export async function novaOwnerRole(
  client: pg.ClientBase,
  database: { name: string; url: string },
  role: string,
): Promise<string> {
  await client.query(`CREATE ROLE ${role} LOGIN;
      ALTER TABLE conversations OWNER TO ${role};
      ALTER TABLE conversation_members OWNER TO ${role};
      ALTER TABLE messages OWNER TO ${role};
      GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role};
      GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role};
      GRANT CREATE ON SCHEMA public TO ${role};
      GRANT CREATE ON DATABASE ${database.name} TO ${role}`);
  const url = new URL(database.url);
  url.username = role;
  url.password = '';
  return url.toString();
}

/** Drops the roles (after their database), from the server's postgres database; best effort. */
export async function dropRoles(databaseUrl: string, roles: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect().catch(() => {});
  for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  await admin.end().catch(() => {});
}

/**
 * Nova's message_search_sync_trigger function with its bug fixed (its UPDATE branch tested a
 * non-boolean with OR, so every UPDATE of messages failed): what an operator does before `up`.
 */
export const FIXED_NOVA_SEARCH_SYNC_SQL = `CREATE OR REPLACE FUNCTION sync_message_search_index_on_edit() RETURNS trigger AS $$
      BEGIN
        IF TG_OP = 'UPDATE' THEN
          UPDATE message_search_index SET created_at = coalesce(NEW.edited_at, NEW.created_at, created_at)
           WHERE message_id = NEW.id;
        ELSIF TG_OP = 'DELETE' THEN
          DELETE FROM message_search_index WHERE message_id = OLD.id;
        END IF;
        RETURN NULL;
      END $$ LANGUAGE plpgsql`;

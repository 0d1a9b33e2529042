import type pg from 'pg';
import { quoteIdent } from '../../db/ident.js';

/**
 * Nova's messaging base schema (the state before the sequence family), as described in
 * UPSTREAM.md: conversations, conversation_members, messages. Used by the demo, the tests and
 * the bench. `schema` defaults to public.
 */
export function novaBaseSchemaSql(schema = 'public'): string {
  const s = quoteIdent(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE ${s}.conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_type varchar(20) NOT NULL CHECK (conversation_type IN ('direct', 'group')),
  name varchar(255),
  created_by uuid NOT NULL,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
CREATE TABLE ${s}.conversation_members (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL REFERENCES ${s}.conversations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL,
  role varchar(20) DEFAULT 'member',
  joined_at timestamptz DEFAULT now(),
  last_read_at timestamptz,
  is_muted boolean DEFAULT false,
  is_archived boolean DEFAULT false,
  UNIQUE (conversation_id, user_id)
);
CREATE TABLE ${s}.messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL REFERENCES ${s}.conversations (id) ON DELETE CASCADE,
  sender_id uuid NOT NULL,
  content text,
  message_type varchar(20) DEFAULT 'text',
  created_at timestamptz DEFAULT now(),
  edited_at timestamptz,
  deleted_at timestamptz,
  recalled_at timestamptz
);
CREATE INDEX idx_messages_conversation_created ON ${s}.messages (conversation_id, created_at DESC);`;
}

export interface NovaSize {
  conversations: number;
  messages: number;
}

/** Words message content is drawn from, so that full-text search has something to find. */
const WORDS = [
  'hello',
  'meeting',
  'tomorrow',
  'lunch',
  'project',
  'deadline',
  'coffee',
  'weekend',
  'photo',
  'invoice',
  'flight',
  'dinner',
  'release',
  'review',
  'thanks',
  'sorry',
  'running',
  'late',
  'budget',
  'party',
  'schedule',
  'call',
  'document',
  'birthday',
  'concert',
  'train',
  'holiday',
];

/**
 * Realistic, deterministic Nova data. Ids are md5-derived from the seed (the same seed gives the
 * same rows). A fifth of the conversations are groups (3 to 20 members), the rest direct (2).
 * Messages are skewed towards a few hot conversations; created_at is at minute granularity over
 * 30 days in random (not insertion) order, so equal timestamps are common and order is often
 * decided by id; about 1 in 200 messages has no created_at and 1 in 50 is soft-deleted.
 */
export async function seedNova(
  client: pg.ClientBase,
  size: NovaSize,
  schema = 'public',
  seed = 0.42,
): Promise<void> {
  const s = quoteIdent(schema);
  const tag = String(seed);
  await client.query('SELECT setseed($1)', [seed]);
  await client.query(
    `INSERT INTO ${s}.conversations (id, conversation_type, name, created_by, created_at)
     SELECT md5('conversation' || $2 || g)::uuid,
            CASE WHEN g % 5 = 0 THEN 'group' ELSE 'direct' END,
            CASE WHEN g % 5 = 0 THEN 'group ' || g END,
            md5('user' || $2 || (g % 5000))::uuid,
            timestamptz '2025-12-01' + g * interval '1 second'
       FROM generate_series(1, $1) g`,
    [size.conversations, tag],
  );
  await client.query(
    `INSERT INTO ${s}.conversation_members (id, conversation_id, user_id, role)
     SELECT md5('member' || $1 || c.id || k)::uuid, c.id,
            CASE WHEN k = 1 THEN c.created_by ELSE md5('user' || $1 || c.id || k)::uuid END,
            CASE WHEN k = 1 THEN 'owner' ELSE 'member' END
       FROM ${s}.conversations c
      CROSS JOIN LATERAL generate_series(1, CASE WHEN c.conversation_type = 'group'
                                                 THEN 3 + floor(random() * 18)::int ELSE 2 END) k`,
    [tag],
  );
  await insertNovaMessages(client, size.messages, schema, `seed${tag}`);
}

/**
 * Inserts `count` messages over all conversations (hot conversations first) in one statement,
 * sorted by conversation_id (the documented order for multi-conversation inserts, see the
 * sequence family in the README). Ids are md5(tag, n): use a new tag for every call.
 */
export async function insertNovaMessages(
  client: pg.ClientBase,
  count: number,
  schema = 'public',
  tag = 'm',
): Promise<void> {
  const s = quoteIdent(schema);
  await client.query(
    `INSERT INTO ${s}.messages (id, conversation_id, sender_id, content, created_at, deleted_at)
     SELECT id, conversation_id, sender_id, content, created_at, deleted_at FROM (
       SELECT md5($2 || '-' || g)::uuid AS id,
              c.ids[1 + floor(array_length(c.ids, 1) * power(random(), 2))::int] AS conversation_id,
              md5('sender' || (g % 997))::uuid AS sender_id,
              w.words[1 + floor(random() * w.n)::int] || ' ' || w.words[1 + floor(random() * w.n)::int]
                || ' message ' || g AS content,
              CASE WHEN random() < 0.005 THEN NULL
                   ELSE timestamptz '2026-01-01' + floor(random() * 43200) * interval '1 minute' END AS created_at,
              CASE WHEN random() < 0.02 THEN timestamptz '2026-02-01' END AS deleted_at
         FROM generate_series(1, $1) g,
              (SELECT array_agg(id ORDER BY id) AS ids FROM ${s}.conversations) c,
              (SELECT $3::text[] AS words, cardinality($3::text[]) AS n) w
     ) m ORDER BY conversation_id`,
    [count, tag, WORDS],
  );
}

/**
 * Grows Nova's real "before" database (shared/fixtures/real/sequence_real.sql: 1,200
 * conversations, 12,000 messages with global numbers) to `messages` more messages over
 * `conversations` conversations in all, with the fixture's own formulas: a fifth are groups, a
 * third strict_e2e, messages skewed towards low conversation numbers, 1 in 300 without
 * created_at, 1 in 50 soft-deleted; search-enabled messages get their message_search_index row
 * as Nova's service writes it. Messages are inserted with the triggers off (replica role: Nova's
 * per-row conversation timestamp update would dominate the load time); sequence_number still
 * comes from the global default. Deterministic. Needs a superuser. Tables in the search_path
 * schema (the fixture's public).
 */
export async function growRealNova(
  client: pg.ClientBase,
  size: { messages: number; conversations: number },
): Promise<void> {
  await client.query(
    `INSERT INTO conversations (id, conversation_type, name, created_by, created_at, updated_at, privacy_mode)
     SELECT md5('conv' || g)::uuid, CASE WHEN g % 5 = 0 THEN 'group' ELSE 'direct' END,
            CASE WHEN g % 5 = 0 THEN 'group ' || g END, md5('user' || (1 + g % 300))::uuid,
            timestamptz '2025-10-01' + g * interval '1 minute', timestamptz '2025-10-01' + g * interval '1 minute',
            CASE WHEN g % 3 = 0 THEN 'strict_e2e' ELSE 'search_enabled' END
       FROM generate_series((SELECT count(*) FROM conversations) + 1, $1::integer) g;
     `,
    [size.conversations],
  );
  await client.query(
    `INSERT INTO conversation_members (id, conversation_id, user_id, role, joined_at, is_archived)
     SELECT md5('member' || g || '-' || k)::uuid, md5('conv' || g)::uuid,
            md5('user' || (1 + (g + 37 * (k - 1)) % 300))::uuid,
            CASE WHEN k = 1 THEN 'owner' ELSE 'member' END,
            timestamptz '2025-10-01' + g * interval '1 minute', k = 2 AND g % 11 = 0
       FROM generate_series(1, $1::integer) g
      CROSS JOIN LATERAL generate_series(1, CASE WHEN g % 5 = 0 THEN 3 + g % 6 ELSE 2 END) k
     ON CONFLICT DO NOTHING`,
    [size.conversations],
  );
  // GIN indexes (Nova's trigram and full-text ones) are built once afterwards: maintaining them
  // row by row doubled the load time. Same names and definitions.
  const gin = await client.query<{ name: string; def: string }>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
      WHERE i.indrelid IN ('messages'::regclass, 'message_search_index'::regclass)
        AND a.amname = 'gin'`,
  );
  for (const index of gin.rows) await client.query(`DROP INDEX ${quoteIdent(index.name)}`);
  await client.query('SET session_replication_role = replica');
  try {
    for (let from = 1; from <= size.messages; from += 100_000)
      await client.query(
        `INSERT INTO messages (id, conversation_id, sender_id, encrypted_content, nonce, created_at,
                               deleted_at, content)
         SELECT md5('grown' || g)::uuid,
                md5('conv' || (1 + floor($3::integer * power(((hashint4(g)::bigint % 100000 + 100000) % 100000) / 100000.0, 2))::int))::uuid,
                md5('user' || (1 + g % 300))::uuid, 'x', 'n',
                CASE WHEN g % 300 = 0 THEN NULL
                     ELSE timestamptz '2025-11-01' + ((g::bigint * 104729) % 60000) * interval '1 minute' END,
                CASE WHEN g % 50 = 0 THEN timestamptz '2025-12-20' END,
                (ARRAY['hello','lunch tomorrow?','deadline moved','see the photo','thanks!',
                       'running late','invoice attached','call me'])[1 + g % 8] || ' grown ' || g
           FROM generate_series($1::integer, $2::integer) g ORDER BY g`,
        [from, Math.min(from + 99_999, size.messages), size.conversations],
      );
  } finally {
    await client.query('RESET session_replication_role');
  }
  await client.query(
    `INSERT INTO message_search_index (message_id, conversation_id, sender_id, search_text, created_at)
     SELECT m.id, m.conversation_id, m.sender_id, m.content, coalesce(m.created_at, timestamptz '2025-11-01')
       FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE c.privacy_mode = 'search_enabled' AND m.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM message_search_index s WHERE s.message_id = m.id)`,
  );
  for (const index of gin.rows) await client.query(index.def);
  await client.query('ANALYZE conversations; ANALYZE conversation_members; ANALYZE messages');
}

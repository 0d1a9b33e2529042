import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { novaBaseSchemaSql, seedNova } from '../../src/families/sequence/fixture.js';
import { runCli } from '../helpers/cli.js';
import {
  catalogSnapshot,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import { misnumbered, NO_DRIFT, sequenceDrift } from '../helpers/sequence.js';

const BASE_TABLES = ['public.conversations', 'public.conversation_members', 'public.messages'];

async function baseState(db: TestDatabase): Promise<{ catalog: string[]; rows: string[] }> {
  const rows = [];
  for (const t of BASE_TABLES) rows.push(await tableChecksum(db.client, t));
  return { catalog: await catalogSnapshot(db.client, ['public']), rows };
}

/** A conversation whose history has ties and missing timestamps, with the order it must get. */
const CRAFTED = '0c0c0c0c-0000-4000-8000-000000000000';
const id = (n: number) => `0c0c0c0c-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const CRAFTED_MESSAGES: [id: string, createdAt: string | null][] = [
  [id(3), '2026-01-05T10:00:00Z'],
  [id(9), null],
  [id(1), '2026-01-05T10:00:00Z'],
  [id(7), '2026-01-10T00:00:00Z'],
  [id(5), null],
  [id(2), '2026-01-05T10:00:00Z'],
  [id(8), '2026-01-01T00:00:00Z'],
];
/** NULL created_at first (by id), then by created_at, ties by id. */
const CRAFTED_ORDER = [id(5), id(9), id(8), id(1), id(2), id(3), id(7)];

async function addCraftedConversation(db: TestDatabase): Promise<void> {
  await db.client.query(
    `INSERT INTO conversations (id, conversation_type, created_by) VALUES ($1, 'group', gen_random_uuid())`,
    [CRAFTED],
  );
  for (const [mid, at] of CRAFTED_MESSAGES) {
    await db.client.query(
      `INSERT INTO messages (id, conversation_id, sender_id, content, created_at)
       VALUES ($1, $2, gen_random_uuid(), 'crafted lunch', $3)`,
      [mid, CRAFTED, at],
    );
  }
}

/** A fingerprint of every message's number. */
async function numbers(db: TestDatabase): Promise<string> {
  const { rows } = await db.client.query(
    `SELECT count(*) || ':' || md5(string_agg(id || '=' || coalesce(sequence_number::text, '-'), ',' ORDER BY id)) AS f
       FROM messages`,
  );
  return rows[0].f;
}

describe('sequence family on a seeded Nova database', () => {
  let db: TestDatabase;
  let before: { catalog: string[]; rows: string[] };
  beforeAll(async () => {
    db = await createTestDatabase('sequence');
    await db.client.query(novaBaseSchemaSql());
    await seedNova(db.client, { conversations: 400, messages: 25_000 });
    await addCraftedConversation(db);
    before = await baseState(db);
  });
  afterAll(() => db.drop());

  it('--dry-run prints every step and changes nothing (no dbops schema either)', async () => {
    const result = await runCli(['migrate', 'up', 'sequence', '--dry-run'], { url: db.url });
    expect(result.code, result.stderr).toBe(0);
    for (const text of [
      'ADD COLUMN sequence_number bigint',
      'CREATE TRIGGER set_message_sequence',
      'sequence_backfill_batch($1::uuid, $2::integer)',
      'CREATE UNIQUE INDEX CONCURRENTLY "uq_messages_conversation_sequence"',
      'VALIDATE CONSTRAINT "chk_sequence_number_positive"',
    ])
      expect(result.stdout).toContain(text);
    expect(await baseState(db)).toEqual(before);
    const { rows } = await db.client.query(`SELECT to_regnamespace('dbops') AS ns`);
    expect(rows[0].ns).toBeNull();
  });

  it('up numbers history 1..n by (created_at, id) with NULL created_at first, and computes every counter', async () => {
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('sequence backfill (conversations): 401/401');
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
    expect(await misnumbered(db.client)).toBe(0);
    const { rows } = await db.client.query(
      'SELECT id FROM messages WHERE conversation_id = $1 ORDER BY sequence_number',
      [CRAFTED],
    );
    expect(rows.map((r) => r.id)).toEqual(CRAFTED_ORDER);
    const ties = await db.client.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM messages WHERE created_at IS NOT NULL
        GROUP BY conversation_id, created_at HAVING count(*) > 1) t`,
    );
    expect(ties.rows[0].n).toBeGreaterThan(10); // the seed really has ties to break
  });

  it('content_tsv is filled for every row and searchable through its GIN index', async () => {
    const { rows } = await db.client.query(
      `SELECT count(*) FILTER (WHERE content_tsv IS NULL)::int AS missing,
              count(*) FILTER (WHERE content_tsv @@ to_tsquery('english', 'lunch'))::int AS lunch
         FROM messages`,
    );
    expect(rows[0].missing).toBe(0);
    expect(rows[0].lunch).toBeGreaterThan(7);
    const indexes = await db.client.query(
      `SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname IN ('uq_messages_conversation_sequence', 'idx_messages_conversation_ts_id',
                            'idx_conversation_members_user_conversation', 'idx_messages_content_tsv')
        ORDER BY 1`,
    );
    expect(indexes.rows.map((r) => [r.relname, r.indisvalid])).toEqual([
      ['idx_conversation_members_user_conversation', true],
      ['idx_messages_content_tsv', true],
      ['idx_messages_conversation_ts_id', true],
      ['uq_messages_conversation_sequence', true],
    ]);
    const checks = await db.client.query(
      `SELECT conname, convalidated FROM pg_constraint WHERE conname LIKE 'chk_%' ORDER BY 1`,
    );
    expect(checks.rows.map((r) => [r.conname, r.convalidated])).toEqual([
      ['chk_last_sequence_number_nonnegative', true],
      ['chk_member_count_positive', true],
      ['chk_sequence_number_positive', true],
    ]);
  });

  it('rerunning the backfill, the indexes and the checks changes no number', async () => {
    const numbered = await numbers(db);
    const down = await runCli(['migrate', 'down', 'sequence', '--to', '0006'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    // Two conversations as an interrupted run leaves them: counters not computed yet.
    await db.client.query(
      `UPDATE conversations SET last_sequence_number = NULL, member_count = NULL
        WHERE id IN (SELECT id FROM conversations ORDER BY id LIMIT 2)`,
    );
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/applied\s+.*sequence\/0007_sequence_backfill/);
    expect(await numbers(db)).toBe(numbered);
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('down --all restores the base catalog and rows exactly; up again is exact', async () => {
    const applied = await baseState(db);
    const dry = await runCli(['migrate', 'down', 'sequence', '--all', '--dry-run'], {
      url: db.url,
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      'DROP INDEX CONCURRENTLY IF EXISTS "uq_messages_conversation_sequence"',
    );
    expect(dry.stdout).toContain('DROP TRIGGER IF EXISTS set_message_sequence ON messages');
    expect(await baseState(db)).toEqual(applied);
    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(await baseState(db)).toEqual(before);
    const again = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
    expect(await misnumbered(db.client)).toBe(0);
  });
});

describe('sequence refusals', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sequence_errors');
  });
  afterAll(() => db.drop());

  it('a database without the Nova base tables: exit 2, names what is missing, changes nothing', async () => {
    const before = await catalogSnapshot(db.client, ['public', 'dbops']);
    const result = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(result.code).toBe(2);
    for (const table of ['conversations', 'conversation_members', 'messages'])
      expect(result.stderr).toContain(`table public.${table} is missing`);
    expect(result.stderr).toContain('nothing was changed');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await catalogSnapshot(db.client, ['public', 'dbops'])).toEqual(before);
    expect((await db.client.query(`SELECT to_regnamespace('dbops') AS ns`)).rows[0].ns).toBeNull();
  });

  it('a sequence_number that is not a serial column (DEFAULT 0): exit 2, nothing adopted', async () => {
    await db.client.query(novaBaseSchemaSql());
    await db.client.query('ALTER TABLE messages ADD COLUMN sequence_number bigint DEFAULT 0');
    const before = await catalogSnapshot(db.client, ['public']);
    const result = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'column public.messages.sequence_number has no DEFAULT nextval() of a sequence it owns (default: 0)',
    );
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(before);
  });
});

describe('a unique index build that fails', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sequence_invalid_index');
    await db.client.query(novaBaseSchemaSql());
    await seedNova(db.client, { conversations: 30, messages: 2000 });
  });
  afterAll(() => db.drop());

  const indexValid = async () =>
    (
      await db.client.query(
        `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('uq_messages_conversation_sequence')`,
      )
    ).rows[0]?.indisvalid;

  it('leaves an INVALID index that the rerun detects, drops and builds again', async () => {
    const first = await runCli(['migrate', 'up', 'sequence', '--to', '0007'], { url: db.url });
    expect(first.code, first.stderr).toBe(0);
    const { rows } = await db.client.query(
      `UPDATE messages SET sequence_number = 1
        WHERE id = (SELECT id FROM messages WHERE sequence_number = 2 LIMIT 1) RETURNING id`,
    );
    const failed = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(
      'could not create unique index "uq_messages_conversation_sequence"',
    );
    expect(await indexValid()).toBe(false);

    await db.client.query('UPDATE messages SET sequence_number = 2 WHERE id = $1', [rows[0].id]);
    const rerun = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await indexValid()).toBe(true);
    await expect(
      db.client.query('UPDATE messages SET sequence_number = 1 WHERE id = $1', [rows[0].id]),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
  });
});

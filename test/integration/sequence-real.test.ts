import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import {
  catalogSnapshot,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import {
  addNovaMessages,
  messageNumbers,
  startNovaWriter,
  wrongConversations,
} from '../helpers/sequenceReal.js';

const SEARCH = 'public.message_search_index';

/** Small batches so the backfill takes many batches and the writers run during it. */
function smallBatches(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 200 }));
  return cwd;
}

/** Nova's UPDATE of a message fails on its own trigger; the error text, or 'ok'. */
async function novaEdit(db: TestDatabase, sql: string): Promise<string> {
  return db.client.query(sql).then(
    () => 'ok',
    (err: Error) => err.message,
  );
}

describe("sequence on Nova's real schema (global BIGSERIAL sequence_number adopted)", () => {
  let db: TestDatabase;
  let catalogBefore: string[];
  let searchBefore: string;
  let originals: Map<string, string>;
  let editErrorBefore: string;
  const cwd = smallBatches();

  beforeAll(async () => {
    db = await createTestDatabase('sequence_real');
    await loadRealFixture(db.client, 'sequence_real.sql');
    await addNovaMessages(db.client, 30_000);
    catalogBefore = await catalogSnapshot(db.client, ['public']);
    searchBefore = await tableChecksum(db.client, SEARCH);
    originals = await messageNumbers(db.client);
    editErrorBefore = await novaEdit(
      db,
      `UPDATE messages SET content = 'edited', edited_at = now() WHERE id = md5('msg7')::uuid`,
    );
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
  });

  it('dry run and real run both exit 0; writers sending during up always read a number', async () => {
    const dry = await runCli(['migrate', 'up', 'sequence', '--dry-run'], { url: db.url, cwd });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('adopt public.messages.sequence_number');
    const { rows } = await db.client.query<{ id: string }>(
      `SELECT id FROM conversations ORDER BY id LIMIT 40`,
    );
    const convs = rows.map((r) => r.id);
    const sender = (await db.client.query('SELECT id FROM users LIMIT 1')).rows[0].id as string;
    const writers = [0, 1, 2, 3].map((k) =>
      startNovaWriter(db.url, convs.slice(k * 10, k * 10 + 10), sender),
    );
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url, cwd });
    const seen = await Promise.all(writers.map((w) => w.stop()));
    expect(up.code, up.stderr).toBe(0);
    expect(seen.flatMap((s) => s.errors)).toEqual([]);
    expect(seen.reduce((a, s) => a + s.sent, 0)).toBeGreaterThan(0);
    expect(seen.reduce((a, s) => a + s.nullNumbers, 0)).toBe(0);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
  }, 180_000);

  it('numbers are 1..n per conversation in (created_at, id) order, counters right; check and resync agree', async () => {
    expect(await wrongConversations(db.client)).toBe(0);
    // The writers' messages interleave with history by arrival once a conversation is counted,
    // so only conversations the writers did not touch are compared with the history order.
    const untouched = await db.client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (
         SELECT m.sequence_number, row_number() OVER (PARTITION BY m.conversation_id
                                   ORDER BY m.created_at ASC NULLS FIRST, m.id) AS expected
           FROM messages m
          WHERE NOT EXISTS (SELECT 1 FROM messages w WHERE w.conversation_id = m.conversation_id
                              AND w.content = 'sent during migration')) m
        WHERE sequence_number <> expected`,
    );
    expect(Number(untouched.rows[0]!.n)).toBe(0);
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const before = [
      await tableChecksum(db.client, 'public.messages'),
      await tableChecksum(db.client, 'public.conversations'),
    ];
    const resync = await runCli(['resync', 'all'], { url: db.url });
    expect(resync.code, resync.stdout + resync.stderr).toBe(0);
    expect([
      await tableChecksum(db.client, 'public.messages'),
      await tableChecksum(db.client, 'public.conversations'),
    ]).toEqual(before);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
  }, 120_000);

  it("Nova's writes work while applied: send, hard delete, members; its UPDATE fails exactly as before", async () => {
    const conv = (await db.client.query(`SELECT md5('conv3')::uuid AS id`)).rows[0].id as string;
    const sent = await db.client.query<{ sequence_number: string }>(
      `INSERT INTO messages (conversation_id, sender_id, encrypted_content, nonce, content)
       VALUES ($1, md5('user1')::uuid, 'x', 'n', 'sent while applied') RETURNING sequence_number`,
      [conv],
    );
    const top = await db.client.query(
      'SELECT last_sequence_number FROM conversations WHERE id = $1',
      [conv],
    );
    expect(sent.rows[0]!.sequence_number).toBe(top.rows[0].last_sequence_number);
    // conv3 is strict_e2e (3 % 3 = 0): none of its messages are in the search index.
    await db.client.query(`DELETE FROM messages WHERE content = 'sent while applied'`);
    await db.client.query(
      `INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, md5('user250')::uuid)`,
      [conv],
    );
    await db.client.query(
      `DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = md5('user250')::uuid`,
      [conv],
    );
    expect(await wrongConversations(db.client, false)).toBe(0);
    expect(
      await novaEdit(
        db,
        `UPDATE messages SET content = 'edited', edited_at = now() WHERE id = md5('msg7')::uuid`,
      ),
    ).toBe(editErrorBefore);
    expect(
      await novaEdit(db, `UPDATE messages SET deleted_at = now() WHERE id = md5('msg7')::uuid`),
    ).toBe(editErrorBefore);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
  });

  it('down --all restores the catalog, every original global number, the default and the sequence', async () => {
    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: db.url, cwd });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(catalogBefore);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
    const now = await messageNumbers(db.client);
    let changed = 0;
    for (const [id, n] of originals) if (now.get(id) !== n) changed += 1;
    expect(changed).toBe(0);
    // Messages sent while applied have new global numbers, above every original, all distinct.
    const newer = [...now].filter(([id]) => !originals.has(id)).map(([, n]) => Number(n));
    const highest = Math.max(...[...originals.values()].map(Number));
    expect(newer.length).toBeGreaterThan(0);
    expect(newer.every((n) => n > highest)).toBe(true);
    expect(new Set(now.values()).size).toBe(now.size);
    const sent = await db.client.query<{ sequence_number: string }>(
      `INSERT INTO messages (conversation_id, sender_id, encrypted_content, nonce, content)
       VALUES (md5('conv3')::uuid, md5('user1')::uuid, 'x', 'n', 'after down') RETURNING sequence_number`,
    );
    expect(Number(sent.rows[0]!.sequence_number)).toBe(Math.max(...newer) + 1);
    await db.client.query(`DELETE FROM messages WHERE content = 'after down'`);
    const leftovers = await db.client.query(
      `SELECT to_regclass('dbops.sequence_original_numbers') AS t,
              (SELECT count(*) FROM dbops.adopted WHERE family = 'sequence') AS n`,
    );
    expect(leftovers.rows[0]).toEqual({ t: null, n: '0' });
  }, 120_000);

  it('up again', async () => {
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await wrongConversations(db.client)).toBe(0);
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url });
    expect(check.code, check.stdout).toBe(0);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
  }, 120_000);
});

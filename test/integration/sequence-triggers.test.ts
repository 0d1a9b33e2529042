import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { novaBaseSchemaSql, seedNova } from '../../src/families/sequence/fixture.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { conversationIds, NO_DRIFT, sendMessage, sequenceDrift } from '../helpers/sequence.js';

/** Behaviour of the triggers on a migrated database; each test uses its own conversations. */
let db: TestDatabase;
let ids: string[];
let next = 0;
const conversation = () => ids[next++]!;

beforeAll(async () => {
  db = await createTestDatabase('sequence_triggers');
  await db.client.query(novaBaseSchemaSql());
  await seedNova(db.client, { conversations: 60, messages: 3000 });
  const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
  expect(up.code, up.stderr).toBe(0);
  ids = await conversationIds(db.client);
});
afterAll(() => db.drop());

async function stats(c: string) {
  const { rows } = await db.client.query(
    `SELECT last_sequence_number::int AS counter, member_count, last_message_id, last_message_at,
            (SELECT max(sequence_number)::int FROM messages WHERE conversation_id = $1) AS max
       FROM conversations WHERE id = $1`,
    [c],
  );
  return rows[0];
}

async function newest(c: string, offset = 0): Promise<string | undefined> {
  const { rows } = await db.client.query(
    `SELECT id FROM messages WHERE conversation_id = $1 AND created_at IS NOT NULL
      ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
    [c, offset],
  );
  return rows[0]?.id;
}

async function withClients<T>(n: number, fn: (clients: pg.Client[]) => Promise<T>): Promise<T> {
  const clients = await Promise.all(Array.from({ length: n }, () => db.connect()));
  try {
    return await fn(clients);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('message numbers', () => {
  it('a new message gets max + 1 whatever number the caller supplies; counter and last message follow', async () => {
    const c = conversation();
    const before = await stats(c);
    const { rows } = await db.client.query(
      `INSERT INTO messages (conversation_id, sender_id, content, sequence_number, created_at)
       VALUES ($1, gen_random_uuid(), 'forged', 1, '2030-01-01') RETURNING id, sequence_number::int AS n`,
      [c],
    );
    expect(rows[0].n).toBe(before.max + 1);
    const after = await stats(c);
    expect(after.counter).toBe(before.max + 1);
    expect(after.last_message_id).toBe(rows[0].id);
  });

  it('ON CONFLICT (id) DO NOTHING / DO UPDATE on an existing message burns no number', async () => {
    const c = conversation();
    const first = await sendMessage(db.client, c, '2030-01-02');
    const resend = await db.client.query(
      `INSERT INTO messages (id, conversation_id, sender_id, content)
       VALUES ($1, $2, gen_random_uuid(), 'again') ON CONFLICT (id) DO NOTHING`,
      [first.id, c],
    );
    expect(resend.rowCount).toBe(0);
    const updated = await db.client.query(
      `INSERT INTO messages (id, conversation_id, sender_id, content)
       VALUES ($1, $2, gen_random_uuid(), 'edited') ON CONFLICT (id) DO UPDATE
       SET content = EXCLUDED.content, sequence_number = EXCLUDED.sequence_number
       RETURNING sequence_number`,
      [first.id, c],
    );
    expect(updated.rows[0].sequence_number).toBe(first.sequence_number);
    const second = await sendMessage(db.client, c);
    expect(Number(second.sequence_number)).toBe(Number(first.sequence_number) + 1);
    expect((await stats(c)).counter).toBe(Number(second.sequence_number));
  });

  it('a concurrent re-send of the same id waits for the first and burns no number', async () => {
    const c = conversation();
    await withClients(2, async ([a, b]) => {
      await a!.query('BEGIN');
      const sent = await sendMessage(a!, c, '2030-01-03');
      const resend = b!.query(
        `INSERT INTO messages (id, conversation_id, sender_id, content)
         VALUES ($1, $2, gen_random_uuid(), 'again') ON CONFLICT (id) DO NOTHING`,
        [sent.id, c],
      );
      await later(200);
      await a!.query('COMMIT');
      expect((await resend).rowCount).toBe(0);
      const after = await sendMessage(a!, c);
      expect(Number(after.sequence_number)).toBe(Number(sent.sequence_number) + 1);
    });
  });

  it('a conflicting id from another conversation uses up a number (a documented gap)', async () => {
    const [c, other] = [conversation(), conversation()];
    const elsewhere = await sendMessage(db.client, other);
    const before = await stats(c);
    await db.client.query(
      `INSERT INTO messages (id, conversation_id, sender_id) VALUES ($1, $2, gen_random_uuid())
       ON CONFLICT (id) DO NOTHING`,
      [elsewhere.id, c],
    );
    expect((await stats(c)).counter).toBe(before.counter + 1);
    expect((await stats(c)).max).toBe(before.max);
  });

  for (const level of ['REPEATABLE READ', 'SERIALIZABLE']) {
    it(`${level}: a writer whose snapshot predates another's number gets 40001, never a duplicate; a retry succeeds`, async () => {
      const c = conversation();
      await withClients(2, async ([a, b]) => {
        await a!.query(`BEGIN ISOLATION LEVEL ${level}`);
        await a!.query('SELECT count(*) FROM conversations');
        const other = await sendMessage(b!, c);
        await expect(sendMessage(a!, c)).rejects.toMatchObject({ code: '40001' });
        await a!.query('ROLLBACK');
        await a!.query(`BEGIN ISOLATION LEVEL ${level}`);
        const retried = await sendMessage(a!, c);
        await a!.query('COMMIT');
        expect(Number(retried.sequence_number)).toBe(Number(other.sequence_number) + 1);
      });
      expect((await sequenceDrift(db.client)).duplicates).toBe(0);
    });
  }

  it('moving a message to another conversation gives it the next number there', async () => {
    const [from, to] = [conversation(), conversation()];
    const moved = await sendMessage(db.client, from, '2031-01-01');
    const target = await stats(to);
    const { rows } = await db.client.query(
      'UPDATE messages SET conversation_id = $2 WHERE id = $1 RETURNING sequence_number::int AS n',
      [moved.id, to],
    );
    expect(rows[0].n).toBe(target.counter + 1);
    expect((await stats(to)).last_message_id).toBe(moved.id);
    expect((await stats(from)).last_message_id).toBe(await newest(from));
  });
});

describe('member_count', () => {
  it('follows multi-row inserts and deletes over several conversations', async () => {
    const [c1, c2] = [conversation(), conversation()];
    const [s1, s2] = [await stats(c1), await stats(c2)];
    await db.client.query(
      `INSERT INTO conversation_members (conversation_id, user_id)
       SELECT c, gen_random_uuid() FROM unnest($1::uuid[]) c, generate_series(1, 3)`,
      [[c2, c1]],
    );
    expect((await stats(c1)).member_count).toBe(s1.member_count + 3);
    expect((await stats(c2)).member_count).toBe(s2.member_count + 3);
    await db.client.query('DELETE FROM conversation_members WHERE conversation_id = ANY ($1)', [
      [c1, c2],
    ]);
    expect((await stats(c1)).member_count).toBe(0);
    expect((await stats(c2)).member_count).toBe(0);
  });

  it('follows an UPDATE that moves a member to another conversation', async () => {
    const [from, to] = [conversation(), conversation()];
    const [f, t] = [await stats(from), await stats(to)];
    await db.client.query(
      `UPDATE conversation_members SET conversation_id = $2
        WHERE id = (SELECT id FROM conversation_members WHERE conversation_id = $1 LIMIT 1)`,
      [from, to],
    );
    expect((await stats(from)).member_count).toBe(f.member_count - 1);
    expect((await stats(to)).member_count).toBe(t.member_count + 1);
    await db.client.query(
      `UPDATE conversation_members SET last_read_at = now() WHERE conversation_id = $1`,
      [to],
    );
    expect((await stats(to)).member_count).toBe(t.member_count + 1);
  });

  it('an underflow is an error naming the conversation and the fix, not a silent 0', async () => {
    const c = conversation();
    await db.client.query('UPDATE conversations SET member_count = 0 WHERE id = $1', [c]);
    const error = await db.client
      .query('DELETE FROM conversation_members WHERE conversation_id = $1', [c])
      .catch((e) => e);
    expect(error).toMatchObject({ code: '23514' });
    expect(error.message).toContain(`member_count of conversation ${c} would drop below zero`);
    expect(error.hint).toContain('dbops resync conversation-stats');
    expect((await stats(c)).member_count).toBe(0);
    await db.client.query(
      'UPDATE conversations SET member_count = (SELECT count(*) FROM conversation_members WHERE conversation_id = $1) WHERE id = $1',
      [c],
    );
  });
});

describe('last_message', () => {
  it('one multi-row insert over several conversations (rows out of time order, one re-sent, one undated): each gets its newest inserted row', async () => {
    const [c1, c2, c3] = [conversation(), conversation(), conversation()];
    const resent = await sendMessage(db.client, c3, '2031-01-01');
    const before3 = await stats(c3);
    const { rows } = await db.client.query(
      `INSERT INTO messages (id, conversation_id, sender_id, content, created_at)
       SELECT coalesce(x.id, gen_random_uuid()), x.c, gen_random_uuid(), 'batch', x.at
         FROM (VALUES (NULL::uuid, $1::uuid, timestamptz '2031-02-02'),
                      (NULL, $1, '2031-02-03'), (NULL, $1, '2031-02-01'),
                      (NULL, $2::uuid, '2031-03-01'), (NULL, $2, NULL),
                      ($4::uuid, $3::uuid, '2099-01-01')) x(id, c, at)
        ORDER BY x.c
       ON CONFLICT (id) DO NOTHING
       RETURNING id, conversation_id, created_at`,
      [c1, c2, c3, resent.id],
    );
    expect(rows).toHaveLength(5);
    const newestOf = (c: string) =>
      rows
        .filter((r) => r.conversation_id === c && r.created_at !== null)
        .sort((a, b) => b.created_at - a.created_at)[0].id;
    expect((await stats(c1)).last_message_id).toBe(newestOf(c1));
    expect((await stats(c2)).last_message_id).toBe(newestOf(c2));
    // The skipped re-send (dated 2099) does not become the last message.
    expect((await stats(c3)).last_message_id).toBe(before3.last_message_id);
    expect((await stats(c1)).last_message_id).toBe(await newest(c1));
  });

  it('a row ON CONFLICT skips on another unique index (after it took a number) never becomes the last message', async () => {
    const [c1, c2] = [conversation(), conversation()];
    await db.client.query(
      `CREATE UNIQUE INDEX test_one_dedupe ON messages (content) WHERE content = 'dedupe'`,
    );
    try {
      const taken = await sendMessage(db.client, c1, '2031-05-01');
      await db.client.query(`UPDATE messages SET content = 'dedupe' WHERE id = $1`, [taken.id]);
      const before = await stats(c2);
      const { rows } = await db.client.query(
        `INSERT INTO messages (conversation_id, sender_id, content, created_at)
         VALUES ($1, gen_random_uuid(), 'dedupe', '2099-06-01'),
                ($1, gen_random_uuid(), 'kept', '2098-06-01')
         ON CONFLICT DO NOTHING RETURNING id`,
        [c2],
      );
      expect(rows).toHaveLength(1);
      const after = await stats(c2);
      // The kept row (dated earlier than the skipped one) is the last message, not the skipped one.
      expect(after.last_message_id).toBe(rows[0].id);
      expect(after.last_message_id).toBe(await newest(c2));
      // The skipped row took a number before the conflict was found: a gap, as documented.
      expect(after.counter).toBe(before.counter + 2);
    } finally {
      await db.client.query('DROP INDEX test_one_dedupe');
    }
  });

  it('a back-dated insert never moves it backwards', async () => {
    const c = conversation();
    const before = await stats(c);
    await sendMessage(db.client, c, '2000-01-01');
    await sendMessage(db.client, c, null);
    const after = await stats(c);
    expect(after.last_message_id).toBe(before.last_message_id);
    expect(after.counter).toBe(before.counter + 2);
  });

  it('deleting the last message moves it to the previous one; deleting all clears it', async () => {
    const c = conversation();
    const previous = await newest(c, 1);
    await db.client.query('DELETE FROM messages WHERE id = $1', [await newest(c)]);
    expect((await stats(c)).last_message_id).toBe(previous);
    await db.client.query('DELETE FROM messages WHERE conversation_id = $1', [c]);
    const after = await stats(c);
    expect([after.last_message_id, after.last_message_at]).toEqual([null, null]);
    expect(after.counter).toBeGreaterThan(0);
  });

  it('a created_at change is followed both ways', async () => {
    const c = conversation();
    const last = await newest(c);
    const second = await newest(c, 1);
    await db.client.query(`UPDATE messages SET created_at = '1999-01-01' WHERE id = $1`, [last]);
    expect((await stats(c)).last_message_id).toBe(second);
    await db.client.query(`UPDATE messages SET created_at = '2032-01-01' WHERE id = $1`, [last]);
    expect((await stats(c)).last_message_id).toBe(last);
  });

  for (const order of ['newest first', 'second newest first']) {
    it(`two transactions deleting the newest and the second newest at once (${order}) leave no dangling id`, async () => {
      const c = conversation();
      const [m1, m2, m3] = [await newest(c), await newest(c, 1), await newest(c, 2)];
      const [firstId, secondId] = order === 'newest first' ? [m1, m2] : [m2, m1];
      await withClients(2, async ([a, b]) => {
        await a!.query('BEGIN');
        await a!.query('DELETE FROM messages WHERE id = $1', [firstId]);
        await b!.query('BEGIN');
        const second = b!.query('DELETE FROM messages WHERE id = $1', [secondId]);
        await later(200);
        await a!.query('COMMIT');
        await second;
        await b!.query('COMMIT');
      });
      expect((await stats(c)).last_message_id).toBe(m3);
    });
  }

  it('TRUNCATE messages clears every last message and keeps the counters; numbering continues', async () => {
    const c = conversation();
    const before = await stats(c);
    await db.client.query('TRUNCATE messages');
    const after = await stats(c);
    expect([after.last_message_id, after.counter]).toEqual([null, before.counter]);
    const sent = await sendMessage(db.client, c);
    expect(Number(sent.sequence_number)).toBe(before.counter + 1);
  });
});

describe('TRUNCATE conversation_members', () => {
  it('sets every member_count to 0', async () => {
    await db.client.query('TRUNCATE conversation_members');
    const drift = await sequenceDrift(db.client);
    expect(drift.memberCount).toBe(0);
    const { rows } = await db.client.query('SELECT max(member_count) AS m FROM conversations');
    expect(rows[0].m).toBe(0);
    // Deletes, TRUNCATE and the cross-conversation conflict left gaps and counters above the
    // max (both legitimate); nothing else drifted.
    expect({ ...drift, gaps: 0, counter: 0 }).toEqual(NO_DRIFT);
  });
});

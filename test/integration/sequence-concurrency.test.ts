import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { novaBaseSchemaSql, seedNova } from '../../src/families/sequence/fixture.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  chatTransaction,
  conversationIds,
  misnumbered,
  NO_DRIFT,
  sequenceDrift,
} from '../helpers/sequence.js';

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** A working directory whose dbops.config.json sets a small batch size (many batches). */
function smallBatches(batchSize: number): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize }));
  return cwd;
}

/** Runs `work` on `n` connections until `until()` says stop; collects errors. */
async function writers(
  db: TestDatabase,
  n: number,
  until: () => boolean,
  work: (client: pg.Client, i: number) => Promise<unknown>,
): Promise<{ done: number; errors: { code?: string; message: string }[] }> {
  const clients = await Promise.all(Array.from({ length: n }, () => db.connect()));
  const errors: { code?: string; message: string }[] = [];
  let done = 0;
  await Promise.all(
    clients.map(async (client, i) => {
      while (!until()) {
        try {
          await work(client, i);
          done += 1;
        } catch (err) {
          errors.push(err as { code?: string; message: string });
        }
      }
      await client.end();
    }),
  );
  return { done, errors };
}

describe('sequence triggers under concurrent writers', () => {
  let db: TestDatabase;
  let five: string[];
  beforeAll(async () => {
    db = await createTestDatabase('sequence_writers');
    await db.client.query(novaBaseSchemaSql());
    await seedNova(db.client, { conversations: 50, messages: 5000 });
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    five = (await conversationIds(db.client)).slice(0, 5);
  });
  afterAll(() => db.drop());

  it('16 writers into 5 conversations, 10% rolled back: no duplicate, no gap, every counter exact', async () => {
    const deadline = Date.now() + 5000;
    const outcomes = { committed: 0, 'rolled back': 0 };
    const run = await writers(
      db,
      16,
      () => Date.now() > deadline,
      async (client) => {
        const two = Math.random() < 0.3;
        const targets = two ? [pick(five), pick(five)] : [pick(five)];
        const outcome = await chatTransaction(
          client,
          [...new Set(targets)],
          1_900_000_000 + Math.floor((Date.now() - deadline) / 10),
          0.1,
        );
        outcomes[outcome] += 1;
      },
    );
    expect(run.errors).toEqual([]);
    expect(outcomes.committed).toBeGreaterThan(200);
    expect(outcomes['rolled back']).toBeGreaterThan(10);
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
    const { rows } = await db.client.query(
      `SELECT count(*)::int AS n FROM messages WHERE conversation_id = ANY ($1) AND content LIKE 'writer%'`,
      [five],
    );
    expect(rows[0].n).toBeGreaterThan(outcomes.committed);
  });

  it('multi-conversation inserts ordered by conversation_id never deadlock', async () => {
    const deadline = Date.now() + 3000;
    const run = await writers(
      db,
      8,
      () => Date.now() > deadline,
      (client) =>
        client.query(
          `INSERT INTO messages (conversation_id, sender_id, content)
           SELECT c, gen_random_uuid(), 'batch' FROM unnest($1::uuid[]) c ORDER BY c`,
          [Array.from({ length: 10 }, () => pick(five))],
        ),
    );
    expect(run.errors).toEqual([]);
    expect(run.done).toBeGreaterThan(100);
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('unordered ones may deadlock: PostgreSQL aborts one (40P01) and nothing is numbered twice or skipped', async () => {
    const deadline = Date.now() + 3000;
    const run = await writers(
      db,
      8,
      () => Date.now() > deadline,
      (client) =>
        client.query(
          `INSERT INTO messages (conversation_id, sender_id, content)
           SELECT c, gen_random_uuid(), 'unordered' FROM unnest($1::uuid[]) WITH ORDINALITY AS u(c, k) ORDER BY k`,
          [Array.from({ length: 10 }, () => pick(five))],
        ),
    );
    expect(run.errors.map((e) => e.code).filter((code) => code !== '40P01')).toEqual([]);
    expect(run.done).toBeGreaterThan(0);
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
  });
});

describe('sequence backfill while writers write', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sequence_online');
    await db.client.query(novaBaseSchemaSql());
    await seedNova(db.client, { conversations: 500, messages: 30_000 });
  });
  afterAll(() => db.drop());

  it('messages and members written during the backfill are all counted, numbered after history', async () => {
    const ids = await conversationIds(db.client);
    const run = startCli(['migrate', 'up', 'sequence'], { url: db.url, cwd: smallBatches(200) });
    let finished = false;
    void run.done.then(() => {
      finished = true;
    });
    const writes: Date[] = [];
    const load = await writers(
      db,
      4,
      () => finished,
      async (client) => {
        // Writers start before the triggers exist: history-dated rows would be legitimately
        // numbered after the backfill's order, so writers use later timestamps only.
        await chatTransaction(client, [pick(ids), pick(ids)], 1_800_000_000 + writes.length, 0.1);
        writes.push(new Date());
      },
    );
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(load.errors).toEqual([]);
    const { rows } = await db.client.query(
      `SELECT max(run_on) FILTER (WHERE name LIKE '0006%') AS t1, max(run_on) FILTER (WHERE name LIKE '0007%') AS t2
         FROM dbops.migrations_sequence`,
    );
    expect(writes.filter((w) => w > rows[0].t1 && w < rows[0].t2).length).toBeGreaterThan(20);
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
    expect(await misnumbered(db.client, `m.content NOT LIKE 'writer%'`)).toBe(0);
    const late = await db.client.query(
      `SELECT count(*)::int AS n FROM messages w
        WHERE w.content LIKE 'writer%'
          AND w.sequence_number < (SELECT max(sequence_number) FROM messages h
                                    WHERE h.conversation_id = w.conversation_id
                                      AND h.content NOT LIKE 'writer%')`,
    );
    expect(late.rows[0].n).toBe(0);
  });
});

describe('an interrupted backfill', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sequence_resume');
    await db.client.query(novaBaseSchemaSql());
    await seedNova(db.client, { conversations: 600, messages: 25_000 });
  });
  afterAll(() => db.drop());

  it('Ctrl-C keeps the committed batches; the rerun finishes without renumbering any of them', async () => {
    const run = startCli(['migrate', 'up', 'sequence'], { url: db.url, cwd: smallBatches(50) });
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const { rows } = await db.client.query(
        `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'messages'::regclass AND attname = 'sequence_number'`,
      );
      if (rows[0].n === 0) continue;
      const numbered = await db.client.query(
        'SELECT count(*)::int AS n FROM messages WHERE sequence_number IS NOT NULL',
      );
      if (numbered.rows[0].n > 1500) break;
    }
    run.child.kill('SIGINT');
    const interrupted = await run.done;
    expect(interrupted.code).toBe(2);
    expect(interrupted.stderr).toContain('interrupted');
    const { rows: partial } = await db.client.query(
      `SELECT id, sequence_number FROM messages WHERE sequence_number IS NOT NULL ORDER BY id`,
    );
    const nulls = await db.client.query(
      'SELECT count(*)::int AS n FROM messages WHERE sequence_number IS NULL',
    );
    expect(nulls.rows[0].n).toBeGreaterThan(0);

    const rerun = await runCli(['migrate', 'up', 'sequence'], {
      url: db.url,
      cwd: smallBatches(500),
    });
    expect(rerun.code, rerun.stderr).toBe(0);
    const { rows: after } = await db.client.query(
      `SELECT id, sequence_number FROM messages WHERE id = ANY ($1) ORDER BY id`,
      [partial.map((r) => r.id)],
    );
    expect(after).toEqual(partial);
    expect(await sequenceDrift(db.client)).toEqual(NO_DRIFT);
    expect(await misnumbered(db.client)).toBe(0);
  });
});

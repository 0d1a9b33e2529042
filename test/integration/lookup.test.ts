import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli, startCli } from '../helpers/cli.js';
import {
  catalogSnapshot,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
  waitForDbopsLockWait,
} from '../helpers/db.js';
import { insertBatch, lookupDrift, partitionIds } from '../helpers/lookup.js';

const BASE_TABLES = [
  'queen.queues',
  'queen.partitions',
  'queen.messages',
  'queen.partition_consumers',
];

async function baseState(db: TestDatabase): Promise<{ catalog: string[]; rows: string[] }> {
  const rows = [];
  for (const t of BASE_TABLES) rows.push(await tableChecksum(db.client, t));
  return { catalog: await catalogSnapshot(db.client, ['queen']), rows };
}

async function seeded(label: string, partitions: number, messages: number): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 20, partitions, messages });
  // Messages without created_at (the column is nullable): the lookup ignores them.
  await db.client.query(
    `INSERT INTO queen.messages (transaction_id, partition_id, payload, created_at)
     SELECT 'null-' || id, id, '{}', NULL FROM queen.partitions ORDER BY id LIMIT 5`,
  );
  return db;
}

describe('lookup family on a seeded Queen database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seeded('lookup', 3000, 60_000);
  });
  afterAll(() => db.drop());

  it('--dry-run prints the SQL and changes nothing at all (no dbops schema, no history table)', async () => {
    const before = await catalogSnapshot(db.client, ['queen', 'public', 'dbops']);
    const result = await runCli(['migrate', 'up', 'lookup', '--dry-run'], { url: db.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('CREATE OR REPLACE TRIGGER trg_update_partition_lookup');
    expect(result.stdout).toContain('INSERT INTO partition_lookup');
    expect(await catalogSnapshot(db.client, ['queen', 'public', 'dbops'])).toEqual(before);
    const { rows } = await db.client.query(`SELECT to_regnamespace('dbops') AS ns`);
    expect(rows[0].ns).toBeNull();
  });

  it('up builds a lookup equal to the truth; down restores catalog and rows; up again', async () => {
    const before = await baseState(db);
    const up = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/applied\s+.*lookup\/0001_partition_lookup/);
    expect(up.stderr).toContain('lookup backfill (partitions): 3000/3000');
    expect(await lookupDrift(db.client)).toBe(0);
    const { rows } = await db.client.query('SELECT count(*)::int AS n FROM queen.partition_lookup');
    expect(rows[0].n).toBeGreaterThan(2500);

    const down = await runCli(['migrate', 'down', 'lookup', '--all'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(await baseState(db)).toEqual(before);

    const again = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(await lookupDrift(db.client)).toBe(0);
  });

  it('8 concurrent writers with multi-partition batches: no deadlock, lookup exact afterwards', async () => {
    const ids = (await partitionIds(db.client)).slice(0, 40); // few partitions: heavy overlap
    const writers = await Promise.all(Array.from({ length: 8 }, () => db.connect()));
    const errors: unknown[] = [];
    const deadline = Date.now() + 4000;
    let batches = 0;
    await Promise.all(
      writers.map(async (w) => {
        while (Date.now() < deadline) {
          try {
            await insertBatch(w, ids, 1 + Math.floor(Math.random() * 25), 3600);
            batches += 1;
          } catch (err) {
            errors.push(err);
          }
        }
        await w.end();
      }),
    );
    expect(errors).toEqual([]);
    expect(batches).toBeGreaterThan(100);
    expect(await lookupDrift(db.client)).toBe(0);
  });

  it('an older message that commits late never moves a row backwards', async () => {
    const [pid] = await partitionIds(db.client);
    const newer = await db.connect();
    const older = await db.connect();
    const insert = (c: typeof newer, tx: string, at: string) =>
      c.query(
        `INSERT INTO queen.messages (transaction_id, partition_id, payload, created_at) VALUES ($1, $2, '{}', $3)`,
        [tx, pid, at],
      );
    await newer.query('BEGIN');
    await insert(newer, 'late-newer', '2030-01-01T00:00:02Z');
    await older.query('BEGIN');
    const olderInsert = insert(older, 'late-older', '2030-01-01T00:00:01Z'); // waits for the row lock
    await new Promise((r) => setTimeout(r, 200));
    await newer.query('COMMIT');
    await olderInsert;
    await older.query('COMMIT');
    const { rows } = await db.client.query(
      'SELECT last_message_created_at AS at FROM queen.partition_lookup WHERE partition_id = $1',
      [pid],
    );
    expect(rows[0].at.toISOString()).toBe('2030-01-01T00:00:02.000Z');
    expect(await lookupDrift(db.client)).toBe(0);
    await newer.end();
    await older.end();
  });
});

describe('lookup backfill while writers insert', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seeded('lookup_online', 4000, 20_000);
  });
  afterAll(() => db.drop());

  it('reflects messages committed while the batched backfill runs', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
    writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 25 }));
    const ids = await partitionIds(db.client);
    const writer = await db.connect();
    const run = startCli(['migrate', 'up', 'lookup'], { url: db.url, cwd });
    let finished = false;
    const writes: Date[] = [];
    void run.done.then(() => {
      finished = true;
    });
    while (!finished) {
      await insertBatch(writer, ids, 5, 3600 * 24 * 400);
      writes.push(new Date());
    }
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    const { rows } = await db.client.query(
      `SELECT max(run_on) FILTER (WHERE name LIKE '0001%') AS t1, max(run_on) FILTER (WHERE name LIKE '0002%') AS t2
         FROM dbops.migrations_lookup`,
    );
    const during = writes.filter((w) => w > rows[0].t1 && w < rows[0].t2).length;
    expect(during).toBeGreaterThan(0);
    expect(await lookupDrift(db.client)).toBe(0);
    await writer.end();
  });
});

describe('lookup backfill while Queen deletes partitions', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seeded('lookup_retention', 200, 2_000);
  });
  afterAll(() => db.drop());

  it('a partition deleted after the batch read it is retried, not a foreign-key error', async () => {
    const first = await runCli(['migrate', 'up', 'lookup', '--to', '0001'], { url: db.url });
    expect(first.code, first.stderr).toBe(0);
    const [id] = await partitionIds(db.client);
    const deleter = await db.connect();
    await deleter.query('BEGIN');
    await deleter.query('DELETE FROM queen.partitions WHERE id = $1', [id]);
    const run = startCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(await waitForDbopsLockWait(db.client)).toBe(true);
    await deleter.query('COMMIT');
    await deleter.end();
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(await lookupDrift(db.client)).toBe(0);
  });
});

describe('lookup resync while a drifted partition is deleted', () => {
  it('the single pass (50 partitions) writing its lookup row runs again without it and finishes (no 23503)', async () => {
    const db = await seeded('lookup_fk_race_resync', 50, 500);
    const blocker = await db.connect();
    try {
      const up = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
      expect(up.code, up.stderr).toBe(0);
      const { rows } = await db.client.query('SELECT id FROM queen.partitions ORDER BY id LIMIT 1');
      await db.client.query('DELETE FROM queen.partition_lookup WHERE partition_id = $1', [
        rows[0].id,
      ]);
      await blocker.query('BEGIN');
      await blocker.query('DELETE FROM queen.partitions WHERE id = $1', [rows[0].id]);
      const run = startCli(['resync', 'partition-lookup'], { url: db.url });
      expect(await waitForDbopsLockWait(db.client)).toBe(true);
      await blocker.query('COMMIT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      expect(await lookupDrift(db.client)).toBe(0);
    } finally {
      await blocker.end();
      await db.drop();
    }
  });
});

describe('lookup refusals and exit codes', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('lookup_errors');
  });
  afterAll(() => db.drop());

  it('a database without the Queen base tables: exit 2, names what is missing, changes nothing', async () => {
    const before = await catalogSnapshot(db.client, ['public', 'queen', 'dbops']);
    const result = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('table queen.messages is missing');
    expect(result.stderr).toContain('nothing was changed');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await catalogSnapshot(db.client, ['public', 'queen', 'dbops'])).toEqual(before);
    expect((await db.client.query(`SELECT to_regnamespace('dbops') AS ns`)).rows[0].ns).toBeNull();
  });

  it('refuses a partition_lookup it cannot adopt, naming every missing column (exit 2, nothing changed)', async () => {
    await db.client.query(queenBaseSchemaSql('queen_own'));
    await db.client.query('CREATE TABLE queen_own.partition_lookup (id uuid)');
    const before = await catalogSnapshot(db.client, ['queen_own', 'dbops']);
    const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
    writeFileSync(
      join(cwd, 'dbops.config.json'),
      JSON.stringify({ schemas: { lookup: 'queen_own' } }),
    );
    const result = await runCli(['migrate', 'up', 'lookup'], { url: db.url, cwd });
    expect(result.code).toBe(2);
    for (const column of ['queue_name', 'partition_id', 'last_message_id', 'updated_at']) {
      expect(result.stderr).toContain(`queen_own: partition_lookup.${column} is missing`);
    }
    expect(await catalogSnapshot(db.client, ['queen_own', 'dbops'])).toEqual(before);
  });

  it('bad URL and unknown family are usage errors (exit 2) with a clear message', async () => {
    const bad = await runCli(['--database-url', 'not a url', 'migrate', 'status']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--database-url is not a valid URL');
    const refused = await runCli([
      '--database-url',
      'postgres://u:s3cret@127.0.0.1:1/x',
      'migrate',
      'status',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('could not connect');
    expect(refused.stderr).not.toContain('s3cret');
    const unknown = await runCli(['migrate', 'up', 'nosuch'], { url: db.url });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown family "nosuch"');
    const injection = await runCli(['migrate', 'up', '"; drop table x; --'], { url: db.url });
    expect(injection.code).toBe(2);
    expect(injection.stderr).toContain('unknown family');
  });

  it('two concurrent `migrate up`: one applies, the other waits or exits 2; never a duplicated history row', async () => {
    await db.client.query(queenBaseSchemaSql());
    await seedQueen(db.client, { queues: 5, partitions: 500, messages: 5000 });
    const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
    writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ migrationLockWaitMs: 300 }));
    // Someone holds the family lock: a bounded wait, then a clear exit 2.
    const holder = await db.connect();
    await holder.query(`SELECT pg_advisory_lock(${0x0db0b5}, hashtext('migrate:lookup'))`);
    const blocked = await runCli(['migrate', 'up', 'lookup'], { url: db.url, cwd });
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toContain('another dbops migration of family lookup is running');
    await holder.end();

    const [a, b] = await Promise.all([
      runCli(['migrate', 'up', 'lookup'], { url: db.url }),
      runCli(['migrate', 'up', 'lookup'], { url: db.url }),
    ]);
    expect([a.code, b.code].sort()).toEqual([0, 0]);
    const { rows } = await db.client.query(
      'SELECT name, count(*)::int AS n FROM dbops.migrations_lookup GROUP BY name ORDER BY name',
    );
    expect(rows).toEqual([
      { name: '0001_partition_lookup', n: 1 },
      { name: '0002_partition_lookup_backfill', n: 1 },
      { name: '0003_lookup_as_owner', n: 1 },
    ]);
  });
});

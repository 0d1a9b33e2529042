import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('skew');
  await db.client.query(`CREATE TABLE skewed (k int NOT NULL, v int) PARTITION BY LIST (k)`);
  for (let i = 0; i < 10; i++)
    await db.client.query(`CREATE TABLE skewed_${i} PARTITION OF skewed FOR VALUES IN (${i})`);
});
afterAll(() => db.drop());

/** Fills the 10 partitions with the given row counts. */
async function fill(counts: number[]): Promise<void> {
  await db.client.query('TRUNCATE skewed');
  await db.client.query(
    `INSERT INTO skewed SELECT k, g FROM unnest($1::int[]) WITH ORDINALITY AS c(n, k1), LATERAL (SELECT k1::int - 1 AS k) kk, generate_series(1, c.n) g`,
    [counts],
  );
}

async function skew(args: string[] = []) {
  const r = await runCli(['check', 'skew', '--table', 'skewed', '--format', 'json', ...args], {
    url: db.url,
  });
  const item = JSON.parse(r.stdout).checks[0];
  return { code: r.code, status: item.status, message: item.message, skew: item.details.skew };
}

describe('check skew bands (max/avg over all partitions, empty ones included)', () => {
  it('HEALTHY at max/avg 1.05: exit 0', async () => {
    await fill([1050, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 950]);
    const r = await skew(['--exact']);
    expect(r).toMatchObject({ code: 0, status: 'ok', message: 'HEALTHY' });
    expect(r.skew.ratio).toBeCloseTo(1.05, 5);
    expect(r.skew.method).toBe('exact');
  });

  it('WARNING at 1.15: exit 0 (exit 1 with --fail-on warn)', async () => {
    await fill([1150, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 850]);
    expect(await skew(['--exact'])).toMatchObject({ code: 0, status: 'warn', message: 'WARNING' });
    expect((await skew(['--exact', '--fail-on', 'warn'])).code).toBe(1);
  });

  it('REBALANCE NEEDED at 1.5 with hot and cold partitions listed; an empty partition counts in the average: exit 1', async () => {
    await fill([1500, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1500, 0]);
    const r = await skew(['--exact']);
    expect(r).toMatchObject({ code: 1, status: 'fail', message: 'REBALANCE NEEDED' });
    expect(r.skew.avg).toBe(1000);
    expect(r.skew.hot).toEqual(['skewed_0', 'skewed_8']);
    expect(r.skew.cold).toEqual(['skewed_9']);
    expect(r.skew.cv).toBeGreaterThan(0.3);
  });

  it('thresholds from flags move the band', async () => {
    expect(await skew(['--exact', '--warn', '1.6', '--fail', '2'])).toMatchObject({
      code: 0,
      status: 'ok',
    });
  });

  it('uses reltuples estimates when statistics are fresh, counts exactly (and says why) when they are not', async () => {
    const stale = await skew();
    expect(stale.skew.method).toBe('exact');
    expect(stale.skew.fallbackReason).toContain('stale or missing statistics');
    // Flush this session's pending row-change statistics first, or they land after ANALYZE.
    await db.client.query('SELECT pg_stat_force_next_flush()');
    await db.client.query('SELECT 1');
    await db.client.query('ANALYZE skewed');
    const fresh = await skew();
    expect(fresh.skew.method).toBe('estimate');
    expect(fresh.skew.fallbackReason).toBeUndefined();
    expect(fresh.status).toBe('fail');
  });

  it('refuses a table that is not partitioned, and bad ratios, with exit 2', async () => {
    await db.client.query('CREATE TABLE plain (x int)');
    const plain = await runCli(['check', 'skew', '--table', 'plain'], { url: db.url });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('plain is not a partitioned table');
    const bad = await runCli(
      ['check', 'skew', '--table', 'skewed', '--warn', '2', '--fail', '1.5'],
      { url: db.url },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('must not exceed');
  });
});

describe('check skew judged against what a placement of the collections can reach', () => {
  beforeAll(async () => {
    await db.client.query(
      `CREATE TABLE keyed (collection_id varchar NOT NULL, k int NOT NULL, v int) PARTITION BY LIST (k)`,
    );
    for (let i = 0; i < 10; i++)
      await db.client.query(`CREATE TABLE keyed_${i} PARTITION OF keyed FOR VALUES IN (${i})`);
  });

  /** rows: [collection, partition, count]. */
  async function load(rows: [string, number, number][]): Promise<void> {
    await db.client.query('TRUNCATE keyed');
    await db.client.query(
      `INSERT INTO keyed SELECT c, k, g FROM unnest($1::text[], $2::int[], $3::int[]) AS r(c, k, n), generate_series(1, r.n) g`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
  }

  async function keyedSkew() {
    const r = await runCli(['check', 'skew', '--table', 'keyed', '--format', 'json'], {
      url: db.url,
    });
    const item = JSON.parse(r.stdout).checks[0];
    return { code: r.code, status: item.status, hint: item.hint, skew: item.details.skew };
  }

  it('uniform data over many collections: HEALTHY, balanced, distinct collections counted', async () => {
    await load(
      Array.from({ length: 200 }, (_, i) => [`c${i}`, i % 10, 10] as [string, number, number]),
    );
    const r = await keyedSkew();
    expect(r).toMatchObject({ code: 0, status: 'ok' });
    expect(r.skew).toMatchObject({ status: 'HEALTHY', cause: 'balanced', ratio: 1 });
    expect(r.skew.keys).toMatchObject({ column: 'collection_id', distinct: 200, bestMax: 200 });
  });

  it('one dominant collection: structural, HEALTHY (no placement does better), the collection named', async () => {
    const small = Array.from(
      { length: 90 },
      (_, i) => [`s${i}`, 1 + (i % 9), 10] as [string, number, number],
    );
    await load([['dominant', 0, 5000], ...small]);
    const r = await keyedSkew();
    expect(r.skew.ratio).toBeCloseTo(5000 / 590, 5);
    expect(r).toMatchObject({ code: 0, status: 'ok' });
    expect(r.skew).toMatchObject({ status: 'HEALTHY', cause: 'structural' });
    expect(r.skew.keys).toMatchObject({
      distinct: 91,
      largest: { key: 'dominant', rows: 5000, partition: 'keyed_0' },
      bestMax: 5000,
      excess: 1,
      oversized: true,
    });
    expect(r.hint).toContain('collection_id dominant holds 100% of keyed_0');
    expect(r.hint).toContain(
      'structural, no rebalance possible; consider sub-partitioning dominant',
    );
  });

  it('two large collections hashed together: REBALANCE NEEDED as a hash imbalance, naming what to move where', async () => {
    const others = Array.from(
      { length: 8 },
      (_, i) => [`o${i}`, i + 1, 1000] as [string, number, number],
    );
    await load([['a', 0, 1000], ['b', 0, 1000], ...others]);
    const r = await keyedSkew();
    expect(r).toMatchObject({ code: 1, status: 'fail' });
    expect(r.skew).toMatchObject({ status: 'REBALANCE NEEDED', cause: 'hash', ratio: 2 });
    expect(r.skew.keys).toMatchObject({ distinct: 10, bestMax: 1000, excess: 2, oversized: false });
    expect(r.skew.keys.hot[0]).toMatchObject({
      partition: 'keyed_0',
      keys: [
        { key: 'a', share: 0.5 },
        { key: 'b', share: 0.5 },
      ],
    });
    expect(r.hint).toContain(
      'move 1 collection_id (1000 rows) out of keyed_0 to the cold partitions (keyed_9...): b (50%)',
    );
  });

  it("the table report shows distinct keys, the reachable bound and the hot partitions' collections", async () => {
    const r = await runCli(['check', 'skew', '--table', 'keyed'], { url: db.url });
    expect(r.stdout).toContain(
      '10 distinct collection_id; best max/avg any placement can reach >= 1.00',
    );
    expect(r.stdout).toContain('hot keyed_0: 2000 rows (2.0 x avg): a 50%, b 50%');
  });

  it('with fresh statistics, rows per collection come from pg_stats (no scan): the same judgement, as an estimate', async () => {
    const counted = await keyedSkew();
    expect(counted.skew.method).toBe('exact');
    await db.client.query('SELECT pg_stat_force_next_flush()');
    await db.client.query('SELECT 1');
    await db.client.query('ANALYZE keyed');
    const r = await keyedSkew();
    expect(r.skew.method).toBe('estimate');
    expect(r.skew.fallbackReason).toBeUndefined();
    expect(r).toMatchObject({ code: 1, status: 'fail' });
    expect(r.skew).toMatchObject({ cause: 'hash', ratio: 2, total: counted.skew.total });
    // a and b tie (1000 rows each): which one is named to move may differ between the two.
    const { distinct, bestMax, excess, oversized } = counted.skew.keys;
    expect(r.skew.keys).toMatchObject({ distinct, bestMax, excess, oversized });
    expect(r.hint).toContain('move 1 collection_id (1000 rows) out of keyed_0');
    // More collections in a partition than the statistics target keeps: counted again.
    await db.client.query(
      `INSERT INTO keyed SELECT 'many' || g, 9, g FROM generate_series(1, 300) g`,
    );
    await db.client.query('SELECT pg_stat_force_next_flush()');
    await db.client.query('SELECT 1');
    await db.client.query('SET default_statistics_target = 100');
    await db.client.query('ANALYZE keyed');
    const many = await keyedSkew();
    expect(many.skew.method).toBe('exact');
    expect(many.skew.fallbackReason).toContain('do not list every collection_id');
  });
});

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededSemantik } from '../../src/families/partition/fixture.js';
import { runCli } from '../helpers/cli.js';
import {
  catalogSnapshot,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import {
  chunksChecksum,
  chunksPartitions,
  chunksStrategy,
  misroutedRows,
  pgErrorOf,
} from '../helpers/partition.js';

const BASE_TABLES = ['public.collections', 'public.documents'];
const ROWS = 200_000;

async function baseState(db: TestDatabase): Promise<{ catalog: string[]; rows: string[] }> {
  const rows = [await chunksChecksum(db.client), await tableChecksum(db.client, 'public.chunks')];
  for (const t of BASE_TABLES) rows.push(await tableChecksum(db.client, t));
  return { catalog: await catalogSnapshot(db.client, ['public']), rows };
}

/** Runs fn in a transaction that is always rolled back. */
async function rolledBack<T>(c: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    return await fn();
  } finally {
    await c.query('ROLLBACK');
  }
}

describe('partition family: 16 HASH -> 100 LIST and back, on 200k chunks', () => {
  let db: TestDatabase;
  let before: { catalog: string[]; rows: string[] };
  let afterUp: string[];
  let someChunk: { id: string; collection_id: string; document_id: string };

  beforeAll(async () => {
    db = await createTestDatabase('partition');
    await createSeededSemantik(db.client, { collections: 300, chunks: ROWS });
    before = await baseState(db);
    someChunk = (
      await db.client.query(
        'SELECT id, collection_id, document_id FROM public.chunks ORDER BY id LIMIT 1',
      )
    ).rows[0];
  });
  afterAll(() => db.drop());

  it('--dry-run prints the plan and changes nothing', async () => {
    const result = await runCli(['migrate', 'up', 'partition', '--dry-run'], { url: db.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('CREATE TABLE chunks_list');
    expect(result.stdout).toContain('chunk_partition_key');
    expect(result.stdout).toContain('LOCK TABLE chunks IN ACCESS EXCLUSIVE MODE');
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(before.catalog);
    expect((await db.client.query(`SELECT to_regnamespace('dbops') AS ns`)).rows[0].ns).toBeNull();
  });

  it('up moves every row, ids unchanged, into exactly 100 LIST partitions chosen by the key function', async () => {
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/applied\s+.*partition\/0004_swap/);
    expect(up.stderr).toContain(`verified: ${ROWS} rows, checksum`);
    expect(up.stderr).toContain('300 collections in both');
    expect(up.stderr).toMatch(/chunks locked for \d+ ms/);
    expect(await chunksStrategy(db.client)).toBe('l');
    expect(await chunksChecksum(db.client)).toBe(before.rows[0]);
    expect(await misroutedRows(db.client)).toBe(0);
    // The key column is a plain integer: bounds print FOR VALUES IN (42), not a domain's ('42').
    const partitions = await chunksPartitions(db.client);
    // ... and the DEFAULT partition that takes, for a moment, rows of writers leaving the key out.
    expect(partitions.map((p) => `${p.name} ${p.bound}`)).toEqual([
      'chunks_default DEFAULT',
      ...Array.from(
        { length: 100 },
        (_, i) => `chunks_part_${String(i).padStart(2, '0')} FOR VALUES IN (${i})`,
      ),
    ]);
    const { rows: keyType } = await db.client.query(
      `SELECT format_type(a.atttypid, NULL) AS type, format_type(t.typbasetype, NULL) AS base
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = 'public.chunks'::regclass AND a.attname = 'partition_key'`,
    );
    expect(keyType[0]).toEqual({ type: 'integer', base: '-' });
    // The HASH table, the staging names and the machinery are gone.
    const { rows } = await db.client.query(
      `SELECT array_agg(relname ORDER BY relname) AS left FROM pg_class
        WHERE relnamespace = 'public'::regnamespace
          AND relname IN ('chunks_list', 'chunks_hash', 'chunks_p0', 'chunks_copy_changes', 'chunks_copy_progress')`,
    );
    expect(rows[0].left).toBeNull();
    afterUp = await catalogSnapshot(db.client, ['public']);
  });

  it('keeps the primary key, the uniqueness of (collection_id, document_id, chunk_index) and both foreign keys', async () => {
    const { rows } = await db.client.query(
      `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conrelid = 'public.chunks'::regclass ORDER BY conname`,
    );
    expect(rows.map((r) => `${r.conname}: ${r.def}`)).toEqual([
      'chunks_collection_id_document_id_chunk_index_key: UNIQUE (collection_id, document_id, chunk_index, partition_key)',
      'chunks_collection_id_fkey: FOREIGN KEY (collection_id) REFERENCES collections(id) ON DELETE CASCADE',
      'chunks_document_id_fkey: FOREIGN KEY (document_id) REFERENCES documents(id) ON DELETE CASCADE',
      expect.stringMatching(/^chunks_partition_key_check: CHECK/),
      'chunks_pkey: PRIMARY KEY (id, collection_id, partition_key)',
    ]);
    const c = db.client;
    const insertSame = (id: string, index: number) =>
      c.query(
        `INSERT INTO public.chunks (id, collection_id, document_id, chunk_index, content, partition_key)
         VALUES ($1, $2, $3, $4, 'x', chunk_partition_key($2))`,
        [id, someChunk.collection_id, someChunk.document_id, index],
      );
    const samePk = await rolledBack(c, () => pgErrorOf(() => insertSame(someChunk.id, 999_999)));
    expect(samePk.code).toBe('23505');
    const { rows: taken } = await c.query(
      'SELECT chunk_index FROM public.chunks WHERE id = $1 AND collection_id = $2',
      [someChunk.id, someChunk.collection_id],
    );
    const sameKey = await rolledBack(c, () =>
      pgErrorOf(() => insertSame('new-id', taken[0].chunk_index)),
    );
    expect(sameKey.code).toBe('23505');
    const noDocument = await rolledBack(c, () =>
      pgErrorOf(() =>
        c.query(
          `INSERT INTO public.chunks (id, collection_id, document_id, chunk_index, content, partition_key)
           VALUES ('orphan', $1, 'no-such-document', 0, 'x', chunk_partition_key($1))`,
          [someChunk.collection_id],
        ),
      ),
    );
    expect(noDocument.code).toBe('23503');
    const cascaded = await rolledBack(c, async () => {
      await c.query('DELETE FROM public.documents WHERE id = $1', [someChunk.document_id]);
      return (
        await c.query('SELECT count(*)::int AS n FROM public.chunks WHERE document_id = $1', [
          someChunk.document_id,
        ])
      ).rows[0].n;
    });
    expect(cascaded).toBe(0);
  });

  it('indexes: every parent index is valid and has one attached index per partition', async () => {
    const { rows } = await db.client.query(
      `SELECT pc.relname AS parent, i.indisvalid AS valid,
              (SELECT count(*)::int FROM pg_inherits h WHERE h.inhparent = i.indexrelid) AS attached
         FROM pg_index i JOIN pg_class pc ON pc.oid = i.indexrelid
        WHERE i.indrelid = 'public.chunks'::regclass ORDER BY 1`,
    );
    expect(rows).toEqual(
      [
        'chunks_collection_id_document_id_chunk_index_key',
        'chunks_pkey',
        'ix_chunks_collection_id',
        'ix_chunks_collection_id_chunk_index',
        'ix_chunks_created_at',
        'ix_chunks_document_id',
      ].map((parent) => ({ parent, valid: true, attached: 101 })),
    );
    // A partition attached later gets every index (and the key check) from the parent.
    const { rows: later } = await rolledBack(db.client, async () => {
      await db.client.query('ALTER TABLE public.chunks DETACH PARTITION public.chunks_part_42');
      await db.client.query(
        'CREATE TABLE public.chunks_part_42_new (LIKE public.chunks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
      );
      await db.client.query(
        'ALTER TABLE public.chunks ATTACH PARTITION public.chunks_part_42_new FOR VALUES IN (42)',
      );
      return db.client.query(
        `SELECT count(*)::int AS n FROM pg_index WHERE indrelid = 'public.chunks_part_42_new'::regclass`,
      );
    });
    expect(later[0].n).toBe(6);
  });

  it('the key function is total: 0..99 for every input, including hashtext at and near INT_MIN', async () => {
    const c = db.client;
    const { rows: body } = await c.query(
      `SELECT prosrc FROM pg_proc WHERE proname = 'chunk_partition_key'`,
    );
    // The function is abs(mod(hashtext(x), 100)); hashtext(x) can be any int4, so proving the
    // arithmetic for every int4 proves the function. mod(h, 100) is in -99..99 for any h, hence
    // abs cannot overflow; checked here at both ends of the int4 range and around 0.
    expect(body[0].prosrc.trim()).toBe(
      'SELECT pg_catalog.abs(pg_catalog.mod(pg_catalog.hashtext($1), 100))',
    );
    const { rows: edges } = await c.query(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE abs(mod(h, 100)) BETWEEN 0 AND 99
                                 AND abs(mod(h, 100)) = abs(h::bigint) % 100)::int AS ok
         FROM (SELECT (-2147483648::bigint + g)::int AS h FROM generate_series(0, 20000) g
               UNION ALL SELECT (2147483647 - g)::int FROM generate_series(0, 20000) g
               UNION ALL SELECT g FROM generate_series(-20000, 20000) g) x`,
    );
    expect(edges[0]).toEqual({ n: 80003, ok: 80003 });
    expect((await c.query("SELECT abs(mod('-2147483648'::int, 100)) AS k")).rows[0].k).toBe(48);
    // What the upstream formulas do with the same value:
    expect((await c.query("SELECT mod('-2147483648'::int, 100) AS k")).rows[0].k).toBe(-48);
    expect((await pgErrorOf(() => c.query("SELECT abs('-2147483648'::int) % 100"))).message).toBe(
      'integer out of range',
    );
    // Real strings: one whose hashtext is INT_MIN + 125 (found by search), edge shapes, and 100k
    // random ids that must hit all 100 partitions.
    const { rows: near } = await c.query(
      `SELECT hashtext('c-17276429') AS h, chunk_partition_key('c-17276429') AS k`,
    );
    expect(near[0]).toEqual({ h: -2147483523, k: 23 });
    const { rows: shapes } = await c.query(
      `SELECT x, chunk_partition_key(x) AS k, abs(hashtext(x)::bigint) % 100 AS expected
         FROM unnest(ARRAY['', ' ', 'a', repeat('z', 100000), '日本語', E'\\t', 'c-41342609']) x`,
    );
    for (const r of shapes) expect(r.k).toBe(Number(r.expected));
    const { rows: spread } = await c.query(
      `SELECT count(DISTINCT k)::int AS distinct_keys, min(k) AS lo, max(k) AS hi
         FROM (SELECT chunk_partition_key(md5(g::text)) AS k FROM generate_series(1, 100000) g) s`,
    );
    expect(spread[0]).toEqual({ distinct_keys: 100, lo: 0, hi: 99 });
    // Semantik's post-migration code calls get_partition_key(varchar): the same values everywhere.
    const { rows: semantik } = await c.query(
      `SELECT count(*)::int AS differ FROM (SELECT md5(g::text) AS x FROM generate_series(1, 100000) g
          UNION ALL SELECT unnest(ARRAY['c-17276429', 'c-41342609', ''])) s
        WHERE get_partition_key(x) IS DISTINCT FROM chunk_partition_key(x)`,
    );
    expect(semantik[0].differ).toBe(0);
    expect((await c.query(`SELECT get_partition_key('c-17276429') AS k`)).rows[0].k).toBe(23);
    expect((await c.query('SELECT chunk_partition_key(NULL) AS k')).rows[0].k).toBeNull();
    expect(
      (await c.query('SELECT get_partition_for_collection($1) AS p', [someChunk.collection_id]))
        .rows[0].p,
    ).toBe(
      (
        await c.query(`SELECT tableoid::regclass::text AS p FROM public.chunks WHERE id = $1`, [
          someChunk.id,
        ])
      ).rows[0].p,
    );
  });

  it('inserts: the right key, or none (a writer that does not know the key), lands in its partition; a wrong key fails naming chunk_partition_key', async () => {
    const c = db.client;
    const { collection_id: cid, document_id: doc } = someChunk;
    const insert = (key: string, extraColumn = true) =>
      c.query(
        `INSERT INTO public.chunks (id, collection_id, document_id, chunk_index, content${extraColumn ? ', partition_key' : ''})
         VALUES ('t-' || gen_random_uuid(), $1, $2, 500000, 'x'${extraColumn ? `, ${key}` : ''})
         RETURNING tableoid::regclass::text AS partition`,
        [cid, doc],
      );
    const ok = await rolledBack(c, () => insert('chunk_partition_key($1)'));
    const expected = (await c.query('SELECT get_partition_for_collection($1) AS p', [cid])).rows[0]
      .p;
    expect(ok.rows[0].partition).toBe(expected);

    // Left out: RETURNING shows the DEFAULT partition the row was routed to, and the reroute
    // trigger has moved it to its partition before the statement ends.
    const omitted = await rolledBack(c, async () => {
      const r = await insert('', false);
      const where = await c.query(
        `SELECT tableoid::regclass::text AS p, partition_key FROM public.chunks WHERE chunk_index = 500000 AND collection_id = $1`,
        [cid],
      );
      const left = await c.query('SELECT count(*)::int AS n FROM public.chunks_default');
      return { returned: r.rows[0].partition, rows: where.rows, left: left.rows[0].n };
    });
    const key = Number((await c.query('SELECT chunk_partition_key($1) AS k', [cid])).rows[0].k);
    expect(omitted).toEqual({
      returned: 'chunks_default',
      rows: [{ p: expected, partition_key: key }],
      left: 0,
    });
    const cases = {
      null: () => insert('NULL'),
      wrongInRange: () => insert(String((key + 1) % 100)),
      negative: () => insert('-42'),
      tooLarge: () => insert('100'),
    };
    for (const [name, run] of Object.entries(cases)) {
      const err = await rolledBack(c, () => pgErrorOf(run));
      // NULL fails NOT NULL; any other wrong key (in 0..99, or outside it and so routed to the
      // DEFAULT partition) fails the CHECK, whose message names the function.
      if (name === 'null') expect(err.code, name).toBe('23502');
      else {
        expect(err.code, name).toBe('23514');
        expect(err.message, name).toContain(
          'set partition_key = chunk_partition_key(collection_id)',
        );
      }
    }
    const wrong = await rolledBack(c, () => pgErrorOf(cases.wrongInRange));
    expect(wrong.message).toContain(`which is ${key}`);
    // The upstream formula, for a collection whose hashtext is negative: refused, not misrouted.
    const { rows: negative } = await c.query(
      `SELECT c.id, d.id AS doc FROM public.collections c JOIN public.documents d ON d.collection_id = c.id
        WHERE mod(hashtext(c.id), 100) < 0 LIMIT 1`,
    );
    const upstream = await rolledBack(c, () =>
      pgErrorOf(() =>
        c.query(
          `INSERT INTO public.chunks (id, collection_id, document_id, chunk_index, content, partition_key)
           VALUES ('upstream', $1, $2, 0, 'x', mod(hashtext($3), 100))`,
          [negative[0].id, negative[0].doc, negative[0].id],
        ),
      ),
    );
    // A negative key is routed to the DEFAULT partition, where the CHECK refuses it.
    expect(upstream.code).toBe('23514');
    expect(upstream.message).toMatch(/^chunks\.partition_key -\d+ is wrong for collection_id/);
    const update = await rolledBack(c, () =>
      pgErrorOf(() =>
        c.query(
          'UPDATE public.chunks SET partition_key = $3 WHERE id = $1 AND collection_id = $2',
          [someChunk.id, cid, (key + 1) % 100],
        ),
      ),
    );
    expect(update.message).toContain('chunk_partition_key(collection_id)');
  });

  it('monitoring: exact counts over the 100 partitions only, one set of thresholds, stats refresh concurrently', async () => {
    const c = db.client;
    // A backup table whose name starts like a partition's, with rows: not counted.
    await c.query(
      `CREATE TABLE public.chunks_part_07_backup AS
       SELECT id, collection_id, partition_key::int AS partition_key FROM public.chunks LIMIT 5000`,
    );
    const { rows: health } = await c.query(
      `SELECT count(*)::int AS partitions, sum(row_count)::int AS rows,
              count(*) FILTER (WHERE partition_name !~ '^chunks_part_[0-9]{2}$')::int AS strays
         FROM partition_health`,
    );
    expect(health[0]).toEqual({ partitions: 100, rows: ROWS, strays: 0 });
    const { rows: dist } = await c.query('SELECT * FROM partition_distribution');
    const truth = await c.query(
      `SELECT max(n)::numeric / avg(n) AS ratio FROM (
         SELECT coalesce(x.n, 0) AS n FROM generate_series(0, 99) k
           LEFT JOIN (SELECT partition_key AS k, count(*) AS n FROM public.chunks GROUP BY 1) x USING (k)) s`,
    );
    expect(Number(dist[0].max_skew_ratio)).toBeCloseTo(Number(truth.rows[0].ratio), 2);
    expect(dist[0].partitions).toBe(100);
    expect(dist[0].total_chunks).toBe(String(ROWS));
    const skew = (await c.query('SELECT * FROM analyze_partition_skew()')).rows[0];
    expect(skew.status).toBe(dist[0].distribution_status);
    await c.query('UPDATE partition_skew_thresholds SET warn = 1000, fail = 1000');
    expect((await c.query('SELECT status FROM analyze_partition_skew()')).rows[0].status).toBe(
      'HEALTHY',
    );
    await c.query('UPDATE partition_skew_thresholds SET warn = 1, fail = 1');
    expect(
      (await c.query('SELECT distribution_status AS s FROM partition_distribution')).rows[0].s,
    ).toBe('REBALANCE NEEDED');
    await c.query('UPDATE partition_skew_thresholds SET warn = 1.1, fail = 1.2');
    await c.query('DROP TABLE public.chunks_part_07_backup');

    await c.query('SELECT refresh_collection_chunking_stats()');
    const { rows: drift } = await c.query(
      `SELECT count(*)::int AS n FROM collection_chunking_stats s
         FULL JOIN (SELECT collection_id, count(*) AS total FROM public.chunks GROUP BY 1) t
           ON t.collection_id = s.id
        WHERE s.id IS NULL OR s.total_chunks <> coalesce(t.total, 0)
           OR s.partition_name <> get_partition_for_collection(s.id)`,
    );
    expect(drift[0].n).toBe(0);
  });

  it('down moves every row back into the original 16-HASH table: rows and catalog identical', async () => {
    const down = await runCli(['migrate', 'down', 'partition', '--all'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain(`verified: ${ROWS} rows`);
    expect(await chunksStrategy(db.client)).toBe('h');
    expect(await baseState(db)).toEqual(before);
  });

  it('up again: the same rows and the same catalog as the first up', async () => {
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await chunksChecksum(db.client)).toBe(before.rows[0]);
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(afterUp);
  });
});

describe('partition family refuses a database it cannot move (exit 2, nothing changed)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('partition_refuse');
  });
  afterAll(() => db.drop());

  const refused = async (expected: string[]) => {
    const beforeRun = await catalogSnapshot(db.client, ['public']);
    const result = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(result.code).toBe(2);
    for (const text of expected) expect(result.stderr).toContain(text);
    expect(result.stderr).toContain('nothing was changed');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(beforeRun);
    expect((await db.client.query(`SELECT to_regnamespace('dbops') AS ns`)).rows[0].ns).toBeNull();
  };

  it('no base tables', async () => {
    await refused(['table public.chunks is missing', 'table public.collections is missing']);
  });

  it('chunks cannot be moved and restored exactly: a foreign key into it, a BEGIN ATOMIC function, a serial column, a name taken, or not HASH', async () => {
    await createSeededSemantik(db.client, { collections: 5, chunks: 100 });
    await db.client.query(
      `CREATE TABLE public.chunk_notes (chunk_id varchar, collection_id varchar,
         FOREIGN KEY (chunk_id, collection_id) REFERENCES public.chunks (id, collection_id))`,
    );
    await refused([
      'foreign key public.chunk_notes.chunk_notes_chunk_id_collection_id_fkey references public.chunks',
    ]);
    await db.client.query('DROP TABLE public.chunk_notes');
    await db.client.query(
      'CREATE FUNCTION public.chunk_total() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM public.chunks; END',
    );
    await refused(['function chunk_total() depends on public.chunks and would keep the old table']);
    await db.client.query('DROP FUNCTION public.chunk_total()');
    await db.client.query('ALTER TABLE public.chunks ADD COLUMN n serial');
    await refused(['column public.chunks.n owns sequence public.chunks_n_seq (serial)']);
    await db.client.query('ALTER TABLE public.chunks DROP COLUMN n');
    await db.client.query('CREATE TABLE public.chunks_list (x int)');
    await refused(['public.chunks_list already exists']);
    await db.client.query('DROP TABLE public.chunks_list');
    await db.client.query(
      `ALTER TABLE public.chunks RENAME TO chunks_old;
       CREATE TABLE public.chunks (LIKE public.chunks_old) PARTITION BY LIST (chunk_index);`,
    );
    await refused([
      'public.chunks is partitioned LIST (chunk_index); the family moves a HASH-partitioned chunks',
    ]);
  });
});

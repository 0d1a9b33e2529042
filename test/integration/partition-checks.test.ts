import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededSemantik } from '../../src/families/partition/fixture.js';
import { KEY_CHECK_DEFINITION } from '../../src/families/partition/online/key.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, tableChecksum } from '../helpers/db.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('partition_checks');
  await createSeededSemantik(db.client, { collections: 60, chunks: 15_000 });
  const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
  expect(up.code, up.stderr).toBe(0);
  await db.client.query('SET search_path = public');
});
afterAll(() => db.drop());

type Item = { id: string; status: string; count: number; sample: string[]; hint: string };

async function check(kind: string): Promise<{ code: number | null; items: Map<string, Item> }> {
  const r = await runCli(['check', kind, 'partition', '--format', 'json'], { url: db.url });
  const doc = JSON.parse(r.stdout) as { checks: Item[] };
  return { code: r.code, items: new Map(doc.checks.map((c) => [c.id, c])) };
}

/** Keys (collection_id/id) of `n` chunks picked in a stable order. */
async function someChunks(n: number, offset = 0): Promise<string[]> {
  const { rows } = await db.client.query(
    `SELECT collection_id || '/' || id AS key FROM chunks ORDER BY id LIMIT $1 OFFSET $2`,
    [n, offset],
  );
  return rows.map((r) => r.key);
}

const dropKeyCheck = 'ALTER TABLE chunks DROP CONSTRAINT chunks_partition_key_check';
const restoreKeyCheck = `ALTER TABLE chunks ADD ${KEY_CHECK_DEFINITION}`;

describe('partition checks', () => {
  it('a healthy database: every partition check ok (skew is reported, whatever the data)', async () => {
    const all = await check('all');
    expect([...all.items.keys()]).toEqual([
      'partition.schema',
      'partition.chunking-stats',
      'partition.duplicates',
      'partition.misrouted',
      'partition.skew',
    ]);
    for (const id of [
      'partition.schema',
      'partition.chunking-stats',
      'partition.duplicates',
      'partition.misrouted',
    ]) {
      expect(all.items.get(id), id).toMatchObject({ status: 'ok', count: 0, sample: [] });
    }
    expect((await check('consistency')).code).toBe(0);
    expect((await check('schema')).code).toBe(0);
  });

  it('misrouted: rows whose key is not the key function of their collection, exactly counted and sampled', async () => {
    const keys = await someChunks(7, 100);
    await db.client.query(dropKeyCheck);
    await db.client.query(
      `UPDATE chunks SET partition_key = (partition_key + 1) % 100
        WHERE collection_id || '/' || id = ANY ($1)`,
      [keys],
    );
    const found = await check('consistency');
    const schema = await check('schema');
    await db.client.query(
      `UPDATE chunks SET partition_key = chunk_partition_key(collection_id)
        WHERE partition_key <> chunk_partition_key(collection_id)`,
    );
    await db.client.query(restoreKeyCheck);
    expect(found.code).toBe(1);
    expect(found.items.get('partition.misrouted')).toMatchObject({
      status: 'fail',
      count: 7,
      sample: [...keys].sort().slice(0, 5),
    });
    expect(found.items.get('partition.duplicates')?.count).toBe(0);
    expect(schema.items.get('partition.schema')?.sample).toContain(
      'check chunks_partition_key_check (partition_key = chunk_partition_key(collection_id)) is missing',
    );
    expect((await check('consistency')).code).toBe(0);
    expect((await check('schema')).code).toBe(0);
  });

  it('duplicates: (collection_id, document_id, chunk_index) held twice across partitions', async () => {
    const { rows } = await db.client.query(
      `SELECT collection_id, document_id, chunk_index, id FROM chunks ORDER BY id LIMIT 3 OFFSET 500`,
    );
    await db.client.query(dropKeyCheck);
    // Copies under another key: the unique key (which includes partition_key) lets them in.
    await db.client.query(
      `INSERT INTO chunks (id, collection_id, document_id, chunk_index, content, partition_key)
       SELECT 'copy-' || id, collection_id, document_id, chunk_index, content, (partition_key + 1) % 100
         FROM chunks WHERE id = ANY ($1)`,
      [rows.map((r) => r.id)],
    );
    const found = await check('consistency');
    await db.client.query(`DELETE FROM chunks WHERE id LIKE 'copy-%'`);
    await db.client.query(restoreKeyCheck);
    expect(found.items.get('partition.duplicates')).toMatchObject({
      status: 'fail',
      count: 3,
      sample: rows.map((r) => `${r.collection_id}/${r.document_id}/${r.chunk_index}`).sort(),
    });
    expect(found.items.get('partition.misrouted')?.count).toBe(3);
    expect((await check('consistency')).code).toBe(0);
  });

  it('chunking-stats: stale rows are a warning; the dry run counts them and changes nothing; the resync refreshes', async () => {
    const c = db.client;
    const { rows: cols } = await c.query('SELECT id FROM collections ORDER BY id LIMIT 4');
    const [grown, emptied, changed, removed] = cols.map((r) => r.id as string);
    await c.query(
      `INSERT INTO chunks (id, collection_id, document_id, chunk_index, content, partition_key)
       SELECT 'grown-' || g, d.collection_id, d.id, 900000 + g, 'x', chunk_partition_key(d.collection_id)
         FROM (SELECT id, collection_id FROM documents WHERE collection_id = $1 LIMIT 1) d, generate_series(1, 10) g`,
      [grown],
    );
    await c.query('DELETE FROM chunks WHERE collection_id = $1', [emptied]);
    await c.query(
      'UPDATE chunks SET token_count = coalesce(token_count, 0) + 1000 WHERE collection_id = $1',
      [changed],
    );
    await c.query('DELETE FROM collections WHERE id = $1', [removed]);
    await c.query(`INSERT INTO collections (id, name) VALUES ('new-collection', 'new')`);

    const found = await check('consistency');
    expect(found.code).toBe(0); // a warning
    expect(found.items.get('partition.chunking-stats')).toMatchObject({
      status: 'warn',
      count: 5,
      sample: [grown, emptied, changed, removed, 'new-collection'].sort(),
      hint: 'dbops resync chunking-stats',
    });

    const before = await tableChecksum(c, 'public.collection_chunking_stats');
    const dry = await runCli(['resync', 'chunking-stats', '--dry-run', '--format', 'json'], {
      url: db.url,
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).targets[0]).toMatchObject({
      id: 'chunking-stats',
      status: 'dry-run',
      numbers: { inserted: 1, updated: 3, deleted: 1 },
    });
    expect(await tableChecksum(c, 'public.collection_chunking_stats')).toBe(before);

    const run = await runCli(['resync', 'chunking-stats', '--format', 'json'], { url: db.url });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).targets[0]).toMatchObject({
      status: 'done',
      numbers: { inserted: 1, updated: 3, deleted: 1 },
    });
    expect((await check('consistency')).items.get('partition.chunking-stats')?.status).toBe('ok');
    const again = await runCli(['resync', 'chunking-stats', '--format', 'json'], { url: db.url });
    expect(JSON.parse(again.stdout).targets[0].numbers).toMatchObject({
      inserted: 0,
      updated: 0,
      deleted: 0,
    });
  });

  it('chunking-stats resync while chunks are written: writers never wait on it, nothing fails', async () => {
    const writer = await db.connect();
    const { rows: docs } = await db.client.query(
      'SELECT id, collection_id FROM documents ORDER BY id LIMIT 50',
    );
    let running = true;
    let writes = 0;
    let slowest = 0;
    const loop = (async () => {
      for (let n = 0; running; n++) {
        const d = docs[n % docs.length];
        const t = performance.now();
        await writer.query(
          `INSERT INTO chunks (id, collection_id, document_id, chunk_index, content, partition_key)
           VALUES ($1, $2, $3, $4, 'live', chunk_partition_key($2))`,
          [`live-${n}`, d.collection_id, d.id, 800000 + n],
        );
        slowest = Math.max(slowest, performance.now() - t);
        writes += 1;
      }
    })();
    const resync = startCli(['resync', 'chunking-stats'], { url: db.url });
    const result = await resync.done;
    running = false;
    await loop;
    await writer.end();
    expect(result.code, result.stderr).toBe(0);
    expect(writes).toBeGreaterThan(10);
    expect(slowest).toBeLessThan(1000);
    expect((await runCli(['resync', 'chunking-stats'], { url: db.url })).code).toBe(0);
    expect((await check('consistency')).code).toBe(0);
  });
});

/** Applies `breakIt`, expects exactly `problems` from partition.schema, then restores with `fix`. */
async function expectSchemaProblems(breakIt: string, problems: string[], fix: string) {
  await db.client.query(breakIt);
  const found = await check('schema');
  await db.client.query(fix);
  const item = found.items.get('partition.schema')!;
  expect({ code: found.code, count: item.count, sample: item.sample }).toEqual({
    code: 1,
    count: problems.length,
    sample: problems,
  });
  expect((await check('schema')).items.get('partition.schema')?.count).toBe(0);
}

describe('partition.schema catches what the migrations installed and someone changed', () => {
  it('an invalid per-partition index', () =>
    expectSchemaProblems(
      `UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_chunks_part_05_created'::regclass`,
      ['index idx_chunks_part_05_created is invalid (indisvalid = false): rebuild it'],
      `UPDATE pg_index SET indisvalid = true WHERE indexrelid = 'idx_chunks_part_05_created'::regclass`,
    ));

  it("a partition's foreign key triggers disabled", () =>
    expectSchemaProblems(
      'ALTER TABLE chunks_part_07 DISABLE TRIGGER ALL',
      [
        'foreign key chunks_collection_id_fkey has disabled triggers',
        'foreign key chunks_document_id_fkey has disabled triggers',
      ],
      'ALTER TABLE chunks_part_07 ENABLE TRIGGER ALL',
    ));

  it('a key column without the DEFAULT that explains a left-out key', () =>
    expectSchemaProblems(
      'ALTER TABLE chunks ALTER COLUMN partition_key DROP DEFAULT',
      [
        'chunks.partition_key is integer NOT NULL, expected integer NOT NULL DEFAULT chunk_partition_key_missing()',
      ],
      'ALTER TABLE chunks ALTER COLUMN partition_key SET DEFAULT chunk_partition_key_missing()',
    ));

  it('a replaced key function', async () => {
    const { rows } = await db.client.query(
      `SELECT pg_get_functiondef('chunk_partition_key'::regproc) AS def`,
    );
    await expectSchemaProblems(
      `CREATE OR REPLACE FUNCTION chunk_partition_key(collection_id varchar) RETURNS integer
         LANGUAGE sql IMMUTABLE STRICT AS 'SELECT 0'`,
      ['function chunk_partition_key has a body that differs from what its migration installed'],
      rows[0].def,
    );
  });

  it('a partition detached, its rows inserted again: they stay in the DEFAULT partition', async () => {
    const { rows } = await db.client.query(
      'SELECT partition_key AS k FROM chunks ORDER BY id LIMIT 1',
    );
    const k = Number(rows[0].k);
    const name = `chunks_part_${String(k).padStart(2, '0')}`;
    await expectSchemaProblems(
      `ALTER TABLE chunks DETACH PARTITION ${name};
       INSERT INTO chunks SELECT * FROM ${name};`,
      [
        `partition ${name} is missing`,
        'partition chunks_default is not one of chunks_part_00..99 and holds rows',
      ],
      `DELETE FROM chunks_default;
       ALTER TABLE chunks ATTACH PARTITION ${name} FOR VALUES IN (${k});`,
    );
  });

  it('the capture trigger of an interrupted move still on chunks', () =>
    expectSchemaProblems(
      `CREATE FUNCTION chunks_copy_capture() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
       CREATE TRIGGER chunks_copy_capture AFTER INSERT ON chunks FOR EACH ROW EXECUTE FUNCTION chunks_copy_capture();`,
      [
        'capture trigger chunks_copy_capture is still on chunks: an interrupted move; rerun dbops migrate down partition (or up)',
      ],
      `DROP TRIGGER chunks_copy_capture ON chunks; DROP FUNCTION chunks_copy_capture();`,
    ));
});

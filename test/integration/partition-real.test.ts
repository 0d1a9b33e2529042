import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import { connectAsAppRole, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  allColumnsChecksum,
  chunksStrategy,
  defaultPartitionRows,
  misroutedRows,
  partitionChecksOkAfterResync,
} from '../helpers/partition.js';
import { growRealChunks, startOldWriter } from '../helpers/partitionReal.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { dropRoles } from '../helpers/sequenceReal.js';

/**
 * Semantik's real chunks (shared/fixtures/real/partition_real.sql): what `check skew` says about
 * its 16-HASH table, then the whole move and back on it.
 */
let db: TestDatabase;
const APP_ROLE = `dbops_t_semantik_app_${Math.random().toString(36).slice(2, 8)}`;
let appClient: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('partition_real');
  await loadRealFixture(db.client, 'partition_real.sql');
});
afterAll(async () => {
  await db.drop();
  await dropRoles(db.url, [APP_ROLE]);
});

describe('partition family on the real Semantik schema', () => {
  it('check skew on the 16-HASH table: structural skew (one collection larger than a fair share), the collection named, exit 0', async () => {
    const r = await runCli(['check', 'skew', '--format', 'json'], { url: db.url });
    expect(r.code, r.stderr).toBe(0);
    const { skew } = JSON.parse(r.stdout).checks[0].details;
    const { rows } = await db.client.query(
      `SELECT collection_id AS key, count(*)::int AS n, tableoid::regclass::text AS part
         FROM chunks GROUP BY 1, 3 ORDER BY 2 DESC LIMIT 1`,
    );
    expect(skew).toMatchObject({ status: 'HEALTHY', cause: 'structural', total: 14000 });
    expect(skew.partitions).toHaveLength(16);
    expect(skew.keys).toMatchObject({
      column: 'collection_id',
      distinct: 30,
      largest: { key: rows[0].key, rows: rows[0].n, partition: rows[0].part },
      bestMax: rows[0].n,
      oversized: true,
    });
    expect(skew.ratio).toBeCloseTo(rows[0].n / 875, 6);
    expect(skew.advice).toContain(`consider sub-partitioning ${rows[0].key}`);
  });
});

/**
 * The move on the real schema grown to ~150k chunks, with a writer of Semantik's pre-change code
 * (no partition_key, as its own role, not chunks' owner) running during up: up, check, resync, down (the original exactly: full
 * catalog, every row), up again.
 */
describe('partition family round trip on the real Semantik schema (~113k chunks, an old writer running)', () => {
  let before: string[];
  let checksum: string;

  beforeAll(async () => {
    await growRealChunks(db.client, 110);
    // Semantik's application as deployed: its own role, with rights on chunks and nothing on its
    // partitions. A writer that is not chunks' owner must keep working through the move (the
    // capture and the reroute write tables it has no right on, as chunks' owner).
    appClient = await connectAsAppRole(
      db,
      APP_ROLE,
      'GRANT USAGE ON SCHEMA public TO ROLE; GRANT SELECT, INSERT, UPDATE, DELETE ON public.chunks TO ROLE',
    );
    before = await fullCatalogSnapshot(db.client, ['public']);
  });

  it('the plan says what is carried how: keys extended, index replaced, views recreated, objects adopted', async () => {
    const dry = await runCli(['migrate', 'up', 'partition', '--dry-run'], { url: db.url });
    expect(dry.code, dry.stderr).toBe(0);
    for (const line of [
      'chunks_pkey: PRIMARY KEY (id, collection_id) becomes PRIMARY KEY (id, collection_id, partition_key)',
      'unique index uq_chunks_collection_document_index USING btree (collection_id, document_id, chunk_index) becomes USING btree (collection_id, document_id, chunk_index, partition_key), still a unique index',
      'materialized view public.collection_chunking_stats reads chunks: dropped and recreated',
      'view public.partition_health_summary reads chunks (through other views)',
      "public.analyze_partition_skew exists (Semantik's own): adopted by 0005",
      'their rows land in chunks_default and are moved to their partition in the same statement',
    ])
      expect(dry.stdout + dry.stderr).toContain(line);
    expect(await fullCatalogSnapshot(db.client, ['public'])).toEqual(before);
  });

  it('up with an old writer running: exit 0, every committed row in its partition, inserts without partition_key work during and after', async () => {
    const writerClient = appClient;
    const { rows: docs } = await db.client.query(
      'SELECT id, collection_id, chunking_config_id FROM public.documents ORDER BY id LIMIT 200',
    );
    const writer = startOldWriter(writerClient, docs, 'old');
    const up = await runCli(['migrate', 'up', 'partition'], {
      url: db.url,
    });
    // Keep writing a moment after up: those inserts hit the LIST table.
    const afterUp = writer.result.inserted.length;
    while (writer.result.inserted.length < afterUp + 20)
      await new Promise((r) => setTimeout(r, 20));
    const w = await writer.stop();
    await writerClient.end();
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/renames and 4 views recreated/);
    expect(w.errors).toEqual([]);
    expect(await chunksStrategy(db.client)).toBe('l');
    // Inserted before the swap into the HASH table, after it through the DEFAULT partition.
    expect(
      w.inserted.some(
        (r) => r.routedTo.startsWith('chunks_p') && !r.routedTo.startsWith('chunks_part'),
      ),
    ).toBe(true);
    expect(w.inserted.filter((r) => r.routedTo === 'chunks_default').length).toBeGreaterThanOrEqual(
      20,
    );
    const { rows: found } = await db.client.query(
      `SELECT count(*)::int AS n FROM public.chunks c JOIN unnest($1::text[], $2::text[]) k(id, cid)
          ON c.id = k.id AND c.collection_id = k.cid`,
      [w.inserted.map((r) => r.id), w.inserted.map((r) => r.collectionId)],
    );
    expect(found[0].n).toBe(w.inserted.length);
    const { rows: gone } = await db.client.query(
      `SELECT count(*)::int AS n FROM public.chunks c JOIN unnest($1::text[]) k(id) ON c.id = k.id`,
      [w.deleted.map((r) => r.id)],
    );
    expect(gone[0].n).toBe(0);
    expect(await misroutedRows(db.client)).toBe(0);
    expect(await defaultPartitionRows(db.client)).toBe(0);
    checksum = await allColumnsChecksum(db.client);
  });

  it("Semantik's own objects are replaced, the views read the new table", async () => {
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM public.collection_chunking_stats) AS stats,
              (SELECT count(*)::int FROM public.partition_chunk_distribution) AS dist,
              (SELECT count(*)::int FROM public.analyze_partition_skew()) AS skew,
              (SELECT count(*)::int FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                 JOIN pg_class v ON v.oid = r.ev_class
                WHERE d.refobjid = 'public.chunks'::regclass AND v.relname = 'partition_hot_spots') AS hot_reads_new`,
    );
    // 30 collections; the distribution view counts rows per partition of the new table.
    expect(rows[0].stats).toBe(30);
    expect(rows[0].dist).toBe(
      (await db.client.query('SELECT count(DISTINCT tableoid)::int AS n FROM public.chunks'))
        .rows[0].n,
    );
    expect(rows[0].skew).toBe(1); // the family's analyze_partition_skew(): one row
    expect(rows[0].hot_reads_new).toBeGreaterThan(0);
  });

  it('check all partition: every consistency check ok (the stats view lags the writer until resync all); resync all: exit 0; then all ok', async () => {
    await partitionChecksOkAfterResync(db.url);
  });

  it('down refuses, changing nothing, while an index added after up exists; names it', async () => {
    await db.client.query('CREATE INDEX ix_added_after_up ON public.chunks (token_count)');
    const snap = await fullCatalogSnapshot(db.client, ['public']);
    const down = await runCli(['migrate', 'down', 'partition', '--all'], { url: db.url });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('index ix_added_after_up');
    expect(down.stderr).not.toMatch(/\n\s+at /);
    expect(await fullCatalogSnapshot(db.client, ['public'])).toEqual(snap);
    await db.client.query('DROP INDEX public.ix_added_after_up');
  });

  it('down restores the original exactly: full catalog (names included) and every row', async () => {
    const down = await runCli(['migrate', 'down', 'partition', '--all'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(diffCatalog(before, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
    expect(await allColumnsChecksum(db.client)).toBe(checksum);
  });

  it('up again: exit 0, the same rows', async () => {
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await allColumnsChecksum(db.client)).toBe(checksum);
    expect(await misroutedRows(db.client)).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { catalogSnapshot, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';

/**
 * Semantik's real chunks (shared/fixtures/real/partition_real.sql): what `check skew` says about
 * its 16-HASH table, and what the preflight reports before refusing (the move does not carry
 * everything yet; issue 15 C).
 */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('partition_real');
  await loadRealFixture(db.client, 'partition_real.sql');
});
afterAll(() => db.drop());

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

  it('the preflight reports every problem in one round, the dry run the same, and nothing changes (exit 2)', async () => {
    const before = await catalogSnapshot(db.client, ['public']);
    const real = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    const dry = await runCli(['migrate', 'up', 'partition', '--dry-run'], { url: db.url });
    expect([real.code, dry.code]).toEqual([2, 2]);
    const problems = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(problems(dry.stderr)).toEqual(problems(real.stderr));
    const lines = problems(real.stderr).map((l) => l.slice(4).replace(/: .*$/s, ''));
    expect(lines).toEqual([
      'column public.chunks.chunking_config_id is integer NOT NULL; the family moves integer',
      'column public.chunks.end_offset is integer NOT NULL; the family moves integer',
      'column public.chunks.start_offset is integer NOT NULL; the family moves integer',
      'uniqueness of (collection_id, document_id, chunk_index) on public.chunks is the unique index uq_chunks_collection_document_index, not the constraint chunks_collection_id_document_id_chunk_index_key the family moves',
      'constraint public.chunks.chunks_chunking_config_id_fkey FOREIGN KEY (chunking_config_id) REFERENCES chunking_configs(id) is not part of the shape the family moves',
      'index public.chunks.ix_chunks_chunking_config_id USING btree (chunking_config_id) is not part of the shape the family moves',
      'index public.chunks.ix_chunks_embedding_vector_id USING btree (embedding_vector_id) is not part of the shape the family moves',
      'view public.collection_chunking_stats depends on public.chunks',
      'view public.partition_chunk_distribution depends on public.chunks',
      'view public.partition_hot_spots depends on public.chunks',
      "public.collection_chunking_stats already exists (Semantik's own)",
      "public.analyze_partition_skew already exists (Semantik's own)",
      "public.refresh_collection_chunking_stats already exists (Semantik's own)",
    ]);
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(before);
  });
});

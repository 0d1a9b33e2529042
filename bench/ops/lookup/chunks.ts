import type pg from 'pg';

/**
 * A 100-way LIST-partitioned table for `check skew` until the partition family (and its real
 * chunks table) lands: `public.bench_chunks`, partition key abs(mod(hashtext(collection_id), 100))
 * as the partition family's routing, `rows` rows over rows/200 collections (so partitions are
 * unevenly filled, as real collections make them), about 150 bytes a row.
 */
export async function createBenchChunks(client: pg.ClientBase, rows: number): Promise<void> {
  await client.query(`
    CREATE TABLE public.bench_chunks (
      id bigint NOT NULL,
      collection_id text NOT NULL,
      partition_key int NOT NULL,
      chunk_index int NOT NULL,
      content text NOT NULL
    ) PARTITION BY LIST (partition_key)`);
  for (let p = 0; p < 100; p++) {
    await client.query(
      `CREATE TABLE public.bench_chunks_p${p} PARTITION OF public.bench_chunks FOR VALUES IN (${p})`,
    );
  }
  await client.query('SELECT setseed(0.42)');
  await client.query(
    `INSERT INTO public.bench_chunks (id, collection_id, partition_key, chunk_index, content)
     SELECT g, c.id, abs(mod(hashtext(c.id), 100)), g / $2, repeat(md5(g::text), 4)
       FROM generate_series(1, $1::int) g
      CROSS JOIN LATERAL (SELECT 'col-' || (g % $2) AS id) c`,
    [rows, Math.max(1, Math.round(rows / 200))],
  );
  // Statistics must be fresh for `check skew` to use estimates: flush this session's pending
  // table counters first, so they do not count as changes made after the ANALYZE.
  await client.query('SELECT pg_stat_force_next_flush()');
  await client.query('SELECT 1');
  await client.query('VACUUM ANALYZE public.bench_chunks');
}

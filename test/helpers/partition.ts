import type pg from 'pg';
import { expect } from 'vitest';
import { runCli } from './cli.js';

const BASE_COLUMNS =
  'id, collection_id, document_id, chunking_config_id, chunk_index, content, start_offset, end_offset, token_count, embedding_vector_id, created_at, meta::text';

/**
 * md5 over the base columns of every row of a chunks-shaped table, in a stable order, with the
 * count: equal iff the rows are identical, whatever the layout (partition_key is left out).
 * Independent of dbops' own verification (which sums 64-bit row hashes).
 */
export async function chunksChecksum(
  client: pg.ClientBase,
  table = 'public.chunks',
): Promise<string> {
  const { rows } = await client.query<{ n: string; sum: string }>(
    `SELECT count(*) AS n, md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS sum
       FROM (SELECT ROW(${BASE_COLUMNS})::text AS r FROM ${table}) t`,
  );
  return `${rows[0]!.n}:${rows[0]!.sum}`;
}

/**
 * Rows not stored where the documented key function sends them, computed with an independent
 * expression (abs of hashtext as bigint, mod 100: PERF-NOTES says it gives the same values), plus
 * rows whose partition_key column disagrees.
 */
export async function misroutedRows(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM public.chunks c
      WHERE c.tableoid <> format('public.chunks_part_%s', lpad((abs(hashtext(c.collection_id)::bigint) % 100)::text, 2, '0'))::regclass
         OR c.partition_key <> abs(hashtext(c.collection_id)::bigint) % 100`,
  );
  return rows[0]!.n;
}

/** (partition name, bound) of every partition of public.chunks, in name order. */
export async function chunksPartitions(
  client: pg.ClientBase,
): Promise<{ name: string; bound: string }[]> {
  const { rows } = await client.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'public.chunks'::regclass ORDER BY c.relname`,
  );
  return rows;
}

/** Strategy of public.chunks: 'h' (HASH) or 'l' (LIST). */
export async function chunksStrategy(client: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await client.query<{ s: string }>(
    `SELECT partstrat AS s FROM pg_partitioned_table WHERE partrelid = to_regclass('public.chunks')`,
  );
  return rows[0]?.s;
}

/** Runs fn and returns the error PostgreSQL raised (fails the test if there was none). */
export async function pgErrorOf(
  fn: () => Promise<unknown>,
): Promise<{ code: string; message: string; detail?: string; hint?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as { code: string; message: string; detail?: string; hint?: string };
  }
  throw new Error('expected a PostgreSQL error, got none');
}

/**
 * Count and md5 of every row of public.chunks over all its columns except partition_key (read
 * from the catalog, so extra columns of a drifted deployment count), in a stable order.
 */
export async function allColumnsChecksum(client: pg.ClientBase): Promise<string> {
  const { rows: cols } = await client.query<{ name: string }>(
    `SELECT quote_ident(attname) AS name FROM pg_attribute
      WHERE attrelid = 'public.chunks'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'partition_key'
      ORDER BY attname`,
  );
  const list = cols.map((c) => c.name).join(', ');
  const { rows } = await client.query<{ n: string; sum: string }>(
    `SELECT count(*) AS n, md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS sum
       FROM (SELECT ROW(${list})::text AS r FROM public.chunks) t`,
  );
  return `${rows[0]!.n}:${rows[0]!.sum}`;
}

/** Rows in the DEFAULT partition (rows of writers without the key land there only for a moment). */
export async function defaultPartitionRows(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM public.chunks_default',
  );
  return rows[0]!.n;
}

/**
 * `check all partition` (JSON) on `url`, which must exit 0: each check but skew as "id status".
 * The stats view lags a writer that kept writing after 0005 filled it (a warning, not a failure).
 */
export async function partitionCheckStatuses(url: string): Promise<string[]> {
  const check = await runCli(['check', 'all', 'partition', '--format', 'json'], { url });
  expect(check.code, check.stderr + check.stdout).toBe(0);
  const checks = JSON.parse(check.stdout).checks as { id: string; status: string }[];
  return checks.filter((c) => c.id !== 'partition.skew').map((c) => `${c.id} ${c.status}`);
}

/**
 * The partition checks after up with a writer running: every check ok but chunking-stats (the
 * stats view lags a writer that kept writing after 0005 filled it: a warning at most); then
 * `resync all` (exit 0) and every check ok. Returns both rounds of statuses.
 */
export async function partitionChecksOkAfterResync(url: string) {
  const first = await partitionCheckStatuses(url);
  expect(first.filter((c) => !c.startsWith('partition.chunking-stats'))).toEqual([
    'partition.schema ok',
    'partition.duplicates ok',
    'partition.misrouted ok',
  ]);
  const resync = await runCli(['resync', 'all'], { url });
  expect(resync.code, resync.stderr).toBe(0);
  const second = await partitionCheckStatuses(url);
  expect(second).toEqual([
    'partition.schema ok',
    'partition.chunking-stats ok',
    'partition.duplicates ok',
    'partition.misrouted ok',
  ]);
  return { first, second };
}

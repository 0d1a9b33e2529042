import type pg from 'pg';
import { CHECK_SQL } from './baselines.js';

/** Drift counts as `check consistency lookup` defines them. */
export interface LookupDrift {
  missing: number;
  behind: number;
  ahead: number;
  orphaned: number;
}

/**
 * Drifts about 11% of the lookup rows in every way the checks and the resync know, spread over
 * the key range (bucket = row number mod 100, in partition_id order):
 * - 0-3 behind: the row moved a day back;
 * - 4-5 ahead: the partition's newest message deleted (the row names a deleted message);
 * - 6 ahead: the row moved into the future;
 * - 7-8 missing: the row deleted;
 * - 9 wrong queue: queue_name set to another queue (a missing row plus an orphaned one);
 * - 10 orphaned: every message of the partition deleted.
 * Messages change here once; afterwards only the lookup table is reset between runs, so every
 * run starts from exactly this state (see saveDrift / restoreDrift).
 */
export async function createDrift(client: pg.ClientBase): Promise<LookupDrift> {
  await client.query(`
    CREATE TEMP TABLE bench_buckets AS
    SELECT partition_id, queue_name, last_message_id,
           (row_number() OVER (ORDER BY partition_id) % 100)::int AS bucket
      FROM queen.partition_lookup`);
  await client.query(`
    UPDATE queen.partition_lookup pl
       SET last_message_created_at = CASE WHEN b.bucket = 6 THEN timestamptz '2040-01-01'
                                          ELSE pl.last_message_created_at - interval '1 day' END
      FROM bench_buckets b
     WHERE b.partition_id = pl.partition_id AND b.bucket IN (0, 1, 2, 3, 6)`);
  await client.query(`
    DELETE FROM queen.messages m USING bench_buckets b
     WHERE b.bucket IN (4, 5) AND m.id = b.last_message_id`);
  await client.query(`
    DELETE FROM queen.partition_lookup pl USING bench_buckets b
     WHERE b.partition_id = pl.partition_id AND b.bucket IN (7, 8)`);
  await client.query(`
    UPDATE queen.partition_lookup pl
       SET queue_name = (SELECT name FROM queen.queues q WHERE q.name <> pl.queue_name
                          ORDER BY name LIMIT 1)
      FROM bench_buckets b
     WHERE b.partition_id = pl.partition_id AND b.bucket = 9`);
  await client.query(`
    DELETE FROM queen.messages m USING bench_buckets b
     WHERE b.bucket = 10 AND m.partition_id = b.partition_id`);
  await client.query('DROP TABLE bench_buckets');
  await client.query('VACUUM ANALYZE queen.messages');
  return countDrift(client);
}

/** The drift as the baseline check counts it. */
export async function countDrift(client: pg.ClientBase): Promise<LookupDrift> {
  const { rows } = await client.query<LookupDrift>(CHECK_SQL);
  return rows[0]!;
}

/** Keeps a copy of the drifted lookup table to restore before every timed run. */
export async function saveDrift(client: pg.ClientBase): Promise<void> {
  await client.query('DROP TABLE IF EXISTS public.bench_lookup_drifted');
  await client.query(
    'CREATE TABLE public.bench_lookup_drifted AS SELECT * FROM queen.partition_lookup',
  );
}

/**
 * Puts back the drifted lookup table, in the same physical order every time, with fresh
 * statistics and visibility map, and flushes dirty pages so no checkpoint lands in a timed run.
 */
export async function restoreDrift(client: pg.ClientBase): Promise<void> {
  await client.query('TRUNCATE queen.partition_lookup');
  await client.query(
    'INSERT INTO queen.partition_lookup SELECT * FROM public.bench_lookup_drifted',
  );
  await settle(client, 'queen.partition_lookup');
}

/** VACUUM ANALYZE the table just rewritten, then CHECKPOINT. */
export async function settle(client: pg.ClientBase, table: string): Promise<void> {
  await client.query(`VACUUM ANALYZE ${table}`);
  await client.query('CHECKPOINT');
}

/**
 * Lookup rows that differ from the truth, computed independently of dbops' SQL and of the
 * baselines (DISTINCT ON over all messages): missing, wrong message or timestamp, wrong queue,
 * or extra rows. 0 means the lookup is exact.
 */
export async function independentDrift(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`
    WITH truth AS (
      SELECT DISTINCT ON (m.partition_id) m.partition_id, m.id, m.created_at, q.name AS queue_name
        FROM queen.messages m
        JOIN queen.partitions p ON p.id = m.partition_id
        JOIN queen.queues q ON q.id = p.queue_id
       WHERE m.created_at IS NOT NULL
       ORDER BY m.partition_id, m.created_at DESC, m.id DESC)
    SELECT count(*)::int AS n
      FROM truth t FULL JOIN queen.partition_lookup pl ON pl.partition_id = t.partition_id
     WHERE t.partition_id IS NULL OR pl.partition_id IS NULL
        OR pl.last_message_id <> t.id OR pl.last_message_created_at <> t.created_at
        OR pl.queue_name <> t.queue_name`);
  return rows[0]!.n;
}

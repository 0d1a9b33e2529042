import type pg from 'pg';
import type { TestDatabase } from './db.js';

/**
 * Lookup rows that differ from the truth, computed independently of dbops' SQL (DISTINCT ON over
 * all messages): missing, wrong message, wrong timestamp, wrong queue, or extra rows.
 */
export async function lookupDrift(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`
    WITH truth AS (
      SELECT DISTINCT ON (m.partition_id) m.partition_id, m.id, m.created_at, q.name AS queue_name
        FROM queen.messages m
        JOIN queen.partitions p ON p.id = m.partition_id
        JOIN queen.queues q ON q.id = p.queue_id
       WHERE m.created_at IS NOT NULL
       ORDER BY m.partition_id, m.created_at DESC, m.id DESC)
    SELECT count(*) AS n
      FROM truth t FULL JOIN queen.partition_lookup pl ON pl.partition_id = t.partition_id
     WHERE t.partition_id IS NULL OR pl.partition_id IS NULL
        OR pl.last_message_id <> t.id OR pl.last_message_created_at <> t.created_at
        OR pl.queue_name <> t.queue_name`);
  return Number(rows[0]!.n);
}

/** Random partition ids (with repeats), for writers. */
export async function partitionIds(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM queen.partitions ORDER BY id',
  );
  return rows.map((r) => r.id);
}

/** One multi-row INSERT of `rows` messages into random partitions with created_at around now. */
export async function insertBatch(
  client: pg.ClientBase,
  ids: string[],
  rows: number,
  skewSeconds = 60,
): Promise<void> {
  const parts = Array.from({ length: rows }, () => ids[Math.floor(Math.random() * ids.length)]!);
  const offsets = parts.map(() => Math.floor((Math.random() - 0.5) * 2 * skewSeconds));
  await client.query(
    `INSERT INTO queen.messages (transaction_id, partition_id, payload, created_at)
     SELECT 'w-' || gen_random_uuid(), p, '{}'::jsonb, date_trunc('second', now()) + o * interval '1 second'
       FROM unnest($1::uuid[], $2::int[]) AS x(p, o)`,
    [parts, offsets],
  );
}

/**
 * Pushes like Queen's server: multi-row INSERTs into several partitions at once from `writers`
 * connections, until `until` settles. Each writer has its own queues: Queen's own triggers on
 * messages (partitions.last_activity, queue_watermarks) update rows in no fixed order, so two
 * pushes sharing queues can deadlock each other with or without dbops. Returns how many
 * statements ran and every error they raised.
 */
export async function pushWhile<T>(
  db: TestDatabase,
  writers: number,
  until: Promise<T>,
): Promise<{ result: T; pushes: number; errors: unknown[] }> {
  const { rows } = await db.client.query<{ ids: string[] }>(
    `SELECT array_agg(p.id) AS ids FROM queen.partitions p
      GROUP BY (SELECT count(*) FROM queen.queues q WHERE q.id < p.queue_id) % $1`,
    [writers],
  );
  const clients = await Promise.all(rows.map(() => db.connect()));
  const errors: unknown[] = [];
  let done = false;
  let pushes = 0;
  const loops = clients.map(async (c, i) => {
    while (!done) {
      await insertBatch(c, rows[i]!.ids, 1 + Math.floor(Math.random() * 20)).catch((e) =>
        errors.push(e),
      );
      pushes += 1;
    }
  });
  const result = await until.finally(() => {
    done = true;
  });
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.end()));
  return { result, pushes, errors };
}

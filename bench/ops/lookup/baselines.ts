/**
 * The best hand-written SQL for each lookup job: what an operator would paste into psql instead
 * of running dbops. Fully qualified (schema queen), no parameters unless noted, so each one runs
 * by hand as printed. All use the shape PERF-NOTES measured fastest: per partition, one backward
 * probe of messages (partition_id, created_at, id) via CROSS/LEFT JOIN LATERAL ... LIMIT 1.
 */

/** Fills an empty partition_lookup (the migration's backfill, as one statement). */
export const BACKFILL_SQL = `
INSERT INTO queen.partition_lookup
       (queue_name, partition_id, last_message_id, last_message_created_at, updated_at)
SELECT q.name, p.id, m.id, m.created_at, now()
  FROM queen.partitions p
  JOIN queen.queues q ON q.id = p.queue_id
 CROSS JOIN LATERAL (SELECT id, created_at FROM queen.messages
                      WHERE partition_id = p.id AND created_at IS NOT NULL
                      ORDER BY created_at DESC, id DESC LIMIT 1) m`;

/**
 * Rebuilds partition_lookup in place, writing only rows that differ: inserts missing rows,
 * moves behind and ahead rows to the newest message, deletes rows of partitions without messages
 * and rows naming the wrong queue. Plain UPDATE / INSERT / DELETE rather than one upsert: an
 * ON CONFLICT DO UPDATE locks every conflicting row (a heap write and a WAL record per row, 6x
 * the WAL of this shape) even when its WHERE then skips the row. One snapshot; not safe against
 * concurrent pushes (a message committed during the statement can be overwritten by an older
 * truth, or its new lookup row collide with the INSERT), which dbops' batches are.
 */
export const RESYNC_SQL = `
WITH truth AS MATERIALIZED (
  SELECT q.name AS queue_name, p.id AS partition_id, m.id AS message_id, m.created_at
    FROM queen.partitions p
    JOIN queen.queues q ON q.id = p.queue_id
   CROSS JOIN LATERAL (SELECT id, created_at FROM queen.messages
                        WHERE partition_id = p.id AND created_at IS NOT NULL
                        ORDER BY created_at DESC, id DESC LIMIT 1) m
), deleted AS (
  DELETE FROM queen.partition_lookup pl
   WHERE NOT EXISTS (SELECT 1 FROM truth t
                      WHERE t.partition_id = pl.partition_id AND t.queue_name = pl.queue_name)
  RETURNING 1
), updated AS (
  UPDATE queen.partition_lookup pl
     SET last_message_id = t.message_id, last_message_created_at = t.created_at, updated_at = now()
    FROM truth t
   WHERE pl.partition_id = t.partition_id AND pl.queue_name = t.queue_name
     AND (pl.last_message_id, pl.last_message_created_at) IS DISTINCT FROM (t.message_id, t.created_at)
  RETURNING 1
), inserted AS (
  INSERT INTO queen.partition_lookup
         (queue_name, partition_id, last_message_id, last_message_created_at, updated_at)
  SELECT t.queue_name, t.partition_id, t.message_id, t.created_at, now()
    FROM truth t
   WHERE NOT EXISTS (SELECT 1 FROM queen.partition_lookup pl
                      WHERE pl.partition_id = t.partition_id AND pl.queue_name = t.queue_name)
  RETURNING 1
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted,
       (SELECT count(*) FROM updated)::int AS updated,
       (SELECT count(*) FROM deleted)::int AS deleted`;

/**
 * Counts the drift `dbops check consistency lookup` reports, with the same definitions, in one
 * pass: truth (newest message per partition) joined to the lookup rows by partition.
 * - missing: partitions with messages and no lookup row for their queue ((queue_name,
 *   partition_id) is unique, so that is: partitions with messages minus rows that match one);
 * - behind / ahead: lookup rows older / newer than their partition's newest message;
 * - orphaned: lookup rows for partitions without messages (or gone), or naming another queue.
 */
export const CHECK_SQL = `
WITH truth AS MATERIALIZED (
  SELECT q.name AS queue_name, p.id AS partition_id, m.id AS message_id, m.created_at
    FROM queen.partitions p
    JOIN queen.queues q ON q.id = p.queue_id
    LEFT JOIN LATERAL (SELECT id, created_at FROM queen.messages
                        WHERE partition_id = p.id AND created_at IS NOT NULL
                        ORDER BY created_at DESC, id DESC LIMIT 1) m ON true
), per_row AS (
  SELECT count(*) FILTER (WHERE t.message_id IS NOT NULL
            AND (pl.last_message_created_at, pl.last_message_id) < (t.created_at, t.message_id)) AS behind,
         count(*) FILTER (WHERE t.message_id IS NOT NULL
            AND (pl.last_message_created_at, pl.last_message_id) > (t.created_at, t.message_id)) AS ahead,
         count(*) FILTER (WHERE t.message_id IS NULL OR pl.queue_name IS DISTINCT FROM t.queue_name) AS orphaned,
         count(*) FILTER (WHERE t.message_id IS NOT NULL AND pl.queue_name = t.queue_name) AS matched
    FROM queen.partition_lookup pl
    LEFT JOIN truth t ON t.partition_id = pl.partition_id
)
SELECT ((SELECT count(*) FROM truth WHERE message_id IS NOT NULL) - matched)::int AS missing,
       behind::int, ahead::int, orphaned::int
  FROM per_row`;

/** Rows per partition of the bench's LIST-partitioned table, exactly, in one statement. */
export const COUNT_PER_PARTITION_SQL = `
SELECT tableoid::regclass::text AS partition, count(*)::int AS rows
  FROM public.bench_chunks
 GROUP BY tableoid`;

/**
 * One push of messages ($1 = uuid[] of partition ids, one per row; $2 = timestamptz of the
 * first row, later rows a microsecond apart, so each is its partition's newest). By hand:
 * PREPARE push(uuid[], timestamptz) AS <this>; EXECUTE push(ARRAY[...]::uuid[], now());
 */
export const PUSH_SQL = `
INSERT INTO queen.messages (transaction_id, partition_id, payload, created_at)
SELECT 'bench-' || gen_random_uuid(), x.partition_id, '{"bench": true}'::jsonb,
       $2::timestamptz + x.n * interval '1 microsecond'
  FROM unnest($1::uuid[]) WITH ORDINALITY AS x(partition_id, n)`;

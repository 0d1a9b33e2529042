import { sharedFindings } from '../../checks/sharedPass.js';

/** The four lookup consistency findings, computed together. */
export type LookupFinding = 'missing' | 'behind' | 'ahead' | 'orphaned';

/**
 * Every lookup finding in one pass: one backward probe of messages (partition_id, created_at,
 * id) per partition (the truth), full-joined with the lookup rows by partition. As four separate
 * queries the checks probed messages three times per lookup row (behind, ahead, orphaned each),
 * 1.3-1.5x the cost of a single counting query; the checks share this result instead.
 * Definitions (key = partition id; counts are lookup rows, partitions for missing):
 * - missing: partitions with messages but no lookup row for their queue (a partition whose only
 *   rows name other queues appears once per row, hence count(DISTINCT));
 * - behind / ahead: lookup rows older / newer by (created_at, id) than the newest message;
 * - orphaned: lookup rows for partitions without messages (or gone), or naming another queue.
 * Returns, per finding found, the count and the first `$1` keys in key order.
 */
const CLASSIFY_SQL = `
WITH truth AS (
  SELECT p.id AS partition_id, q.name AS queue_name, m.id AS message_id, m.created_at
    FROM partitions p
    JOIN queues q ON q.id = p.queue_id
    LEFT JOIN LATERAL (SELECT id, created_at FROM messages
                        WHERE partition_id = p.id AND created_at IS NOT NULL
                        ORDER BY created_at DESC, id DESC LIMIT 1) m ON true
), pairs AS (
  SELECT coalesce(t.partition_id, pl.partition_id)::text AS key,
         t.message_id IS NOT NULL
           AND (pl.partition_id IS NULL
                OR (pl.queue_name <> t.queue_name
                    AND NOT EXISTS (SELECT 1 FROM partition_lookup own
                                     WHERE own.partition_id = t.partition_id
                                       AND own.queue_name = t.queue_name))) AS missing,
         CASE WHEN t.message_id IS NULL OR pl.partition_id IS NULL THEN NULL
              WHEN (pl.last_message_created_at, pl.last_message_id)
                   < (t.created_at, t.message_id) THEN 'behind'
              WHEN (pl.last_message_created_at, pl.last_message_id)
                   > (t.created_at, t.message_id) THEN 'ahead'
         END AS position,
         pl.partition_id IS NOT NULL
           AND (t.message_id IS NULL OR pl.queue_name IS DISTINCT FROM t.queue_name) AS orphaned
    FROM truth t
    FULL JOIN partition_lookup pl ON pl.partition_id = t.partition_id
), offending AS (
  SELECT f.finding, p.key
    FROM pairs p,
         unnest(ARRAY[CASE WHEN p.missing THEN 'missing' END, p.position,
                      CASE WHEN p.orphaned THEN 'orphaned' END]) AS f(finding)
   WHERE (p.missing OR p.position IS NOT NULL OR p.orphaned) AND f.finding IS NOT NULL
)
SELECT finding,
       (CASE WHEN finding = 'missing' THEN count(DISTINCT key) ELSE count(*) END)::int AS count,
       (array_agg(DISTINCT key ORDER BY key))[1:$1] AS sample
  FROM offending GROUP BY finding`;

/** The outcome of one lookup finding; the first check of a run computes them all. */
export const lookupFinding = sharedFindings<LookupFinding>(CLASSIFY_SQL);

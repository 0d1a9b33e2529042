/**
 * The seed's monitoring objects, with the originals' bugs fixed:
 * - partitions are the ones attached to chunks whose name matches ^chunks_part_[0-9]{2}$, so a
 *   backup table such as chunks_part_07_backup or chunks_hash is never counted (the seed's
 *   LIKE 'chunks_part_%' counted them);
 * - rows per partition are exact counts (the seed used n_live_tup estimates, which read 0 after a
 *   statistics reset); the estimate is shown next to them;
 * - the average is over all 100 partitions, empty ones included (UPSTREAM.md section 3), in both
 *   views and the function alike;
 * - one set of thresholds for everything, in the one-row table partition_skew_thresholds (same
 *   defaults as the `skew` section of dbops.config.json): ratio = max/avg rows;
 *   HEALTHY <= warn < WARNING <= fail < REBALANCE NEEDED; a partition is HOT above hot x avg and
 *   COLD below cold x avg; needs_vacuum when dead rows exceed dead_ratio x rows.
 *   (The seed's view said WARNING > 1.1 and REBALANCE NEEDED > 1.2 while its function said
 *   WARNING > 1.2 and CRITICAL > 1.5.)
 * - collection_chunking_stats uses the real key function, and has the unique index that
 *   REFRESH MATERIALIZED VIEW CONCURRENTLY requires.
 */

export const THRESHOLDS_TABLE = `
CREATE TABLE partition_skew_thresholds (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  warn numeric NOT NULL DEFAULT 1.1 CHECK (warn > 0),
  fail numeric NOT NULL DEFAULT 1.2 CHECK (fail > 0),
  hot numeric NOT NULL DEFAULT 1.2 CHECK (hot > 0),
  cold numeric NOT NULL DEFAULT 0.8 CHECK (cold > 0),
  dead_ratio numeric NOT NULL DEFAULT 0.1 CHECK (dead_ratio >= 0),
  CHECK (warn <= fail)
);
INSERT INTO partition_skew_thresholds DEFAULT VALUES;
COMMENT ON TABLE partition_skew_thresholds IS
  'Thresholds of partition_health, partition_distribution and analyze_partition_skew (one row; UPDATE it to change them).'`;

export const PARTITION_HEALTH_VIEW = `
CREATE VIEW partition_health AS
WITH parts AS (
  SELECT c.oid, n.nspname AS schemaname, c.relname AS partition_name,
         substring(c.relname FROM '^chunks_part_([0-9]{2})$')::int AS partition_id
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE i.inhparent = 'chunks'::regclass AND c.relname ~ '^chunks_part_[0-9]{2}$'
), counts AS (
  SELECT p.*, coalesce(r.row_count, 0) AS row_count
    FROM parts p
    LEFT JOIN (SELECT tableoid, count(*) AS row_count FROM chunks GROUP BY tableoid) r ON r.tableoid = p.oid
), average AS (
  SELECT avg(row_count) AS avg_rows FROM counts
)
SELECT c.schemaname, c.partition_name, c.partition_id,
       pg_total_relation_size(c.oid) AS size_bytes,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS size_pretty,
       c.row_count,
       s.n_live_tup AS estimated_rows,
       s.n_dead_tup AS dead_rows,
       s.last_vacuum, s.last_autovacuum,
       s.n_tup_ins AS inserts_since_vacuum, s.n_tup_upd AS updates_since_vacuum,
       s.n_tup_del AS deletes_since_vacuum,
       round((c.row_count / nullif(a.avg_rows, 0) - 1) * 100, 2) AS pct_deviation_from_avg,
       CASE WHEN a.avg_rows > 0 AND c.row_count > a.avg_rows * t.hot THEN 'HOT'
            WHEN a.avg_rows > 0 AND c.row_count < a.avg_rows * t.cold THEN 'COLD'
            ELSE 'NORMAL' END AS partition_status,
       coalesce(s.n_dead_tup > c.row_count * t.dead_ratio, false) AS needs_vacuum
  FROM counts c
 CROSS JOIN average a
 CROSS JOIN partition_skew_thresholds t
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
 ORDER BY c.partition_id`;

export const PARTITION_DISTRIBUTION_VIEW = `
CREATE VIEW partition_distribution AS
SELECT d.*,
       CASE WHEN d.max_skew_ratio > t.fail THEN 'REBALANCE NEEDED'
            WHEN d.max_skew_ratio > t.warn THEN 'WARNING'
            ELSE 'HEALTHY' END AS distribution_status
  FROM (SELECT count(*)::int AS partitions,
               (count(*) FILTER (WHERE row_count > 0))::int AS partitions_used,
               (count(*) FILTER (WHERE row_count = 0))::int AS empty_partitions,
               sum(row_count)::bigint AS total_chunks,
               round(avg(row_count), 2) AS avg_chunks_per_partition,
               round(stddev_pop(row_count), 2) AS stddev_chunks,
               max(row_count) AS max_chunks,
               min(row_count) AS min_chunks,
               round(max(row_count) / nullif(avg(row_count), 0), 3) AS max_skew_ratio,
               round(stddev_pop(row_count) / nullif(avg(row_count), 0), 3) AS coefficient_of_variation,
               (count(*) FILTER (WHERE partition_status = 'HOT'))::int AS hot_partitions,
               (count(*) FILTER (WHERE partition_status = 'COLD'))::int AS cold_partitions
          FROM partition_health) d
 CROSS JOIN partition_skew_thresholds t`;

export const GET_PARTITION_BODY = `
SELECT 'chunks_part_' || pg_catalog.lpad(chunk_partition_key($1)::text, 2, '0')
`;

export const ANALYZE_SKEW_BODY = `
SELECT d.distribution_status,
       d.avg_chunks_per_partition,
       d.max_chunks,
       d.min_chunks,
       d.max_skew_ratio,
       d.hot_partitions,
       CASE d.distribution_status
         WHEN 'REBALANCE NEEDED' THEN 'Severe skew: ' || d.hot_partitions || ' partitions above hot x avg. Consider redistributing the largest collections.'
         WHEN 'WARNING' THEN 'Moderate skew: monitor partition_health for HOT partitions.'
         ELSE 'Distribution is healthy.'
       END
  FROM partition_distribution d
`;

export const REFRESH_STATS_BODY = `
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY collection_chunking_stats;
END
`;

/**
 * One row per collection: its chunks aggregated, and the partition its key names. The
 * materialized view's definition, and the "fresh aggregate" that the chunking-stats check and
 * resync compare it with.
 */
export const COLLECTION_STATS_QUERY = `
SELECT c.id,
       c.name,
       coalesce(s.chunked_documents, 0) AS chunked_documents,
       coalesce(s.total_chunks, 0) AS total_chunks,
       s.avg_tokens_per_chunk,
       s.last_chunk_created,
       chunk_partition_key(c.id) AS partition_id,
       get_partition_for_collection(c.id) AS partition_name
  FROM collections c
  LEFT JOIN (SELECT collection_id,
                    count(DISTINCT document_id) AS chunked_documents,
                    count(*) AS total_chunks,
                    avg(token_count)::numeric(10, 2) AS avg_tokens_per_chunk,
                    max(created_at) AS last_chunk_created
               FROM chunks GROUP BY collection_id) s ON s.collection_id = c.id`;

export const COLLECTION_STATS_VIEW = `
CREATE MATERIALIZED VIEW collection_chunking_stats AS${COLLECTION_STATS_QUERY}
WITH DATA;
CREATE UNIQUE INDEX ix_collection_chunking_stats_id ON collection_chunking_stats (id)`;

/**
 * The view's query as the drift compare runs it: the same rows, but the partition name computed
 * inline from GET_PARTITION_BODY instead of by calling get_partition_for_collection(), whose
 * SET search_path keeps PostgreSQL from inlining it (a function call with a configuration
 * change per collection: about a third of the check's time at 50,000 collections). The function
 * is 0005's own (a deployment's is adopted and replaced), so the two agree.
 */
const FRESH_STATS_QUERY = COLLECTION_STATS_QUERY.replace(
  'get_partition_for_collection(c.id)',
  `(${GET_PARTITION_BODY.trim()
    .replace(/^SELECT /, '')
    .replace('$1', 'c.id')})`,
);

/**
 * Collections whose row in collection_chunking_stats is missing (`insert`), has no collection
 * any more (`delete`) or differs from a fresh aggregate (`update`): what a refresh would change.
 */
export const COLLECTION_STATS_DRIFT = `
WITH fresh AS MATERIALIZED (${FRESH_STATS_QUERY.trim()})
SELECT coalesce(f.id, s.id) AS key,
       CASE WHEN s.id IS NULL THEN 'insert' WHEN f.id IS NULL THEN 'delete' ELSE 'update' END AS change
  FROM fresh f
  FULL JOIN collection_chunking_stats s ON s.id = f.id
 WHERE s.id IS NULL OR f.id IS NULL
    OR (f.name, f.chunked_documents, f.total_chunks, f.avg_tokens_per_chunk, f.last_chunk_created,
        f.partition_id, f.partition_name)
       IS DISTINCT FROM
       (s.name, s.chunked_documents, s.total_chunks, s.avg_tokens_per_chunk, s.last_chunk_created,
        s.partition_id, s.partition_name)`;

export const CREATE_MONITORING = `
${THRESHOLDS_TABLE};
${PARTITION_HEALTH_VIEW};
${PARTITION_DISTRIBUTION_VIEW};
CREATE FUNCTION get_partition_for_collection(collection_id varchar) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT
AS $fn$${GET_PARTITION_BODY}$fn$;
CREATE FUNCTION analyze_partition_skew()
RETURNS TABLE (status text, avg_rows numeric, max_rows bigint, min_rows bigint,
               max_skew_ratio numeric, partitions_over_threshold int, recommendation text)
LANGUAGE sql STABLE SET search_path FROM CURRENT
AS $fn$${ANALYZE_SKEW_BODY}$fn$;
${COLLECTION_STATS_VIEW};
CREATE FUNCTION refresh_collection_chunking_stats() RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT
AS $fn$${REFRESH_STATS_BODY}$fn$`;

export const DROP_MONITORING = `
DROP FUNCTION IF EXISTS refresh_collection_chunking_stats();
DROP MATERIALIZED VIEW IF EXISTS collection_chunking_stats;
DROP FUNCTION IF EXISTS analyze_partition_skew();
DROP FUNCTION IF EXISTS get_partition_for_collection(varchar);
DROP VIEW IF EXISTS partition_distribution;
DROP VIEW IF EXISTS partition_health;
DROP TABLE IF EXISTS partition_skew_thresholds`;

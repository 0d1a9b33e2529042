/**
 * The best hand-written SQL for each checkpoint job: what an operator would paste into psql
 * instead of running dbops. Schema beckett; each runnable by hand as printed (the reserve
 * statements take the group name and the reservation length as $1, $2).
 */

/** The family's rule (migrations/checkpoint/0001 READY_RULE_BODY) written out, for checkpoints c. */
const READY = `c.process_at IS NOT NULL AND c.reserved_until IS NULL
     AND (c.status = 'retry' OR (c.status = 'active' AND c.lagging))`;

/**
 * Both hot tables rebuilt from checkpoints in one statement: the candidate checkpoints (process_at
 * or reserved_until set) read once, each hot table full-joined once with its truth from them,
 * then only the differences written (upsert what is missing or wrong, delete the rest). Not
 * online-safe (no row locks: a reservation committing meanwhile can be undone) and one
 * transaction for the whole table; dbops' batches lock what they repair. (Reading checkpoints
 * once was 1.5x faster than a scan per hot table.)
 */
export const RESYNC_SQL = `
WITH candidates AS MATERIALIZED (
  SELECT c.id, c.process_at, c.reserved_until, ${READY} AS ready
    FROM beckett.checkpoints c
   WHERE c.process_at IS NOT NULL OR c.reserved_until IS NOT NULL
), ready_diff AS MATERIALIZED (
  SELECT t.id AS truth_id, t.process_at, r.id AS hot_id
    FROM (SELECT id, process_at FROM candidates WHERE ready) t
    FULL JOIN beckett.checkpoints_ready r ON r.id = t.id
   WHERE t.id IS NULL OR r.id IS NULL OR r.process_at <> t.process_at
), reserved_diff AS MATERIALIZED (
  SELECT t.id AS truth_id, t.reserved_until, v.id AS hot_id
    FROM (SELECT id, reserved_until FROM candidates WHERE reserved_until IS NOT NULL) t
    FULL JOIN beckett.checkpoints_reserved v ON v.id = t.id
   WHERE t.id IS NULL OR v.id IS NULL OR v.reserved_until <> t.reserved_until
), ready_upsert AS (
  INSERT INTO beckett.checkpoints_ready AS r (id, process_at)
  SELECT truth_id, process_at FROM ready_diff WHERE truth_id IS NOT NULL
  ON CONFLICT (id) DO UPDATE SET process_at = EXCLUDED.process_at
  RETURNING 1
), ready_delete AS (
  DELETE FROM beckett.checkpoints_ready r USING ready_diff d
   WHERE d.truth_id IS NULL AND r.id = d.hot_id
  RETURNING 1
), reserved_upsert AS (
  INSERT INTO beckett.checkpoints_reserved AS v (id, reserved_until)
  SELECT truth_id, reserved_until FROM reserved_diff WHERE truth_id IS NOT NULL
  ON CONFLICT (id) DO UPDATE SET reserved_until = EXCLUDED.reserved_until
  RETURNING 1
), reserved_delete AS (
  DELETE FROM beckett.checkpoints_reserved v USING reserved_diff d
   WHERE d.truth_id IS NULL AND v.id = d.hot_id
  RETURNING 1
)
SELECT (SELECT count(*) FROM ready_upsert)::int + (SELECT count(*) FROM reserved_upsert)::int AS upserted,
       (SELECT count(*) FROM ready_delete)::int + (SELECT count(*) FROM reserved_delete)::int AS deleted`;

/**
 * The consistency findings of `check consistency checkpoint` counted in one statement: one pass
 * over the candidate checkpoints (process_at or reserved_until set) full-joined with both hot
 * tables (a hot row of any other checkpoint finds no partner and is counted as extra).
 */
export const CHECK_SQL = `
SELECT count(*) FILTER (WHERE c.ready AND r.id IS NULL)::int AS "ready-missing",
       count(*) FILTER (WHERE r.id IS NOT NULL
                          AND (c.id IS NULL OR NOT c.ready OR r.process_at <> c.process_at))::int AS "ready-extra",
       count(*) FILTER (WHERE c.reserved_until IS NOT NULL AND v.id IS NULL)::int AS "reserved-missing",
       count(*) FILTER (WHERE v.id IS NOT NULL
                          AND (c.reserved_until IS NULL OR v.reserved_until <> c.reserved_until))::int AS "reserved-extra",
       count(*) FILTER (WHERE r.id IS NOT NULL AND v.id IS NOT NULL)::int AS both,
       count(*) FILTER (WHERE c.reserved_until <= now())::int AS expired
  FROM (SELECT c.id, c.process_at, c.reserved_until, ${READY} AS ready FROM beckett.checkpoints c
         WHERE c.process_at IS NOT NULL OR c.reserved_until IS NOT NULL) c
  FULL JOIN beckett.checkpoints_ready r ON r.id = c.id
  FULL JOIN beckett.checkpoints_reserved v ON v.id = coalesce(c.id, r.id)`;

/**
 * Rows of either hot table that differ from the truth, the rule computed here from the columns
 * (not by checkpoint_is_ready), so a resync that is fast but wrong fails verification.
 */
export const HOT_DRIFT_SQL = `
WITH ready AS (SELECT c.id, c.process_at FROM beckett.checkpoints c WHERE ${READY}),
reserved AS (SELECT id, reserved_until FROM beckett.checkpoints WHERE reserved_until IS NOT NULL)
SELECT (SELECT count(*) FROM ((TABLE ready EXCEPT ALL TABLE beckett.checkpoints_ready)
                              UNION ALL (TABLE beckett.checkpoints_ready EXCEPT ALL TABLE ready)) d)::int
     + (SELECT count(*) FROM ((TABLE reserved EXCEPT ALL TABLE beckett.checkpoints_reserved)
                              UNION ALL (TABLE beckett.checkpoints_reserved EXCEPT ALL TABLE reserved)) d)::int
       AS differing`;

/**
 * Checkpoints-only reservation (Beckett 0.22's reserve, PERF-NOTES): the oldest due, unreserved
 * checkpoint of the group's active subscriptions, locked SKIP LOCKED and reserved. $1 group name,
 * $2 reservation length.
 */
export const SINGLE_TABLE_RESERVE_SQL = `
UPDATE beckett.checkpoints c
   SET reserved_until = now() + $2::interval
 WHERE c.id = (SELECT c2.id
                 FROM beckett.checkpoints c2
                 JOIN beckett.subscriptions s ON s.id = c2.subscription_id
                 JOIN beckett.subscription_groups g ON g.id = s.subscription_group_id
                WHERE g.name = $1 AND s.status IN ('active', 'replay')
                  AND c2.process_at <= now() AND c2.reserved_until IS NULL
                ORDER BY c2.process_at
                LIMIT 1
                  FOR UPDATE OF c2 SKIP LOCKED)
RETURNING c.id`;

/** Lets the single-table reserve walk due rows in process_at order instead of sorting them all. */
export const SINGLE_TABLE_INDEX_SQL = `CREATE INDEX IF NOT EXISTS ix_checkpoints_due ON beckett.checkpoints (process_at)
  WHERE process_at IS NOT NULL AND reserved_until IS NULL`;

/** The family's reserve on the hot tables (migrations/checkpoint/0003). */
export const HOT_RESERVE_SQL = 'SELECT id FROM beckett.checkpoint_reserve_next($1, $2::interval)';

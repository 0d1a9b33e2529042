import { sharedFindings } from '../../checks/sharedPass.js';

/** The checkpoint consistency findings, computed together. */
export type CheckpointFinding =
  | 'ready-missing'
  | 'ready-extra'
  | 'reserved-missing'
  | 'reserved-extra'
  | 'both'
  | 'expired';

/**
 * Every checkpoint finding in one pass: candidate checkpoints (process_at or reserved_until set;
 * no other checkpoint can be ready, reserved or expired, and a hot row of one finds no partner
 * here, as a hot row whose checkpoint is gone does) with the rule checkpoint_is_ready (inlined),
 * full-joined with both hot tables by id. As six separate queries the checks scanned checkpoints
 * four times and probed the hot tables per checkpoint (~6x the cost of one counting query); the
 * checks share this result instead. Counted and sampled by one aggregate per finding over the
 * pairs (as one row per pair and finding, grouped by finding, every offending pair was sorted
 * by finding first: 1.3x the counting query on a database with 1% drift). Definitions (key = checkpoint id):
 * - ready-missing: checkpoints the rule says are ready with no ready row;
 * - ready-extra: ready rows whose checkpoint is gone or not eligible, or with another process_at;
 * - reserved-missing: checkpoints with reserved_until set and no reserved row;
 * - reserved-extra: reserved rows whose checkpoint is gone or not reserved, or with another
 *   reserved_until;
 * - both: checkpoints with a row in both hot tables;
 * - expired: checkpoints past their reserved_until (as of the check's snapshot).
 * Returns, per finding found, the count and the first `$1` keys in key order (as text).
 */
const CLASSIFY_SQL = `
WITH pairs AS (
  SELECT coalesce(c.id, r.id, v.id)::text AS key,
         c.ready AND r.id IS NULL AS ready_missing,
         r.id IS NOT NULL
           AND (c.id IS NULL OR NOT c.ready OR r.process_at IS DISTINCT FROM c.process_at) AS ready_extra,
         c.reserved_until IS NOT NULL AND v.id IS NULL AS reserved_missing,
         v.id IS NOT NULL
           AND (c.reserved_until IS NULL OR v.reserved_until <> c.reserved_until) AS reserved_extra,
         r.id IS NOT NULL AND v.id IS NOT NULL AS in_both,
         c.reserved_until <= now() AS expired
    FROM (SELECT c.id, c.process_at, c.reserved_until, checkpoint_is_ready(c) AS ready
            FROM checkpoints c
           WHERE c.process_at IS NOT NULL OR c.reserved_until IS NOT NULL) c
    FULL JOIN checkpoints_ready r ON r.id = c.id
    FULL JOIN checkpoints_reserved v ON v.id = coalesce(c.id, r.id)
), found AS (
  SELECT count(*) FILTER (WHERE ready_missing) AS ready_missing_n,
         (array_agg(key ORDER BY key) FILTER (WHERE ready_missing))[1:$1] AS ready_missing_s,
         count(*) FILTER (WHERE ready_extra) AS ready_extra_n,
         (array_agg(key ORDER BY key) FILTER (WHERE ready_extra))[1:$1] AS ready_extra_s,
         count(*) FILTER (WHERE reserved_missing) AS reserved_missing_n,
         (array_agg(key ORDER BY key) FILTER (WHERE reserved_missing))[1:$1] AS reserved_missing_s,
         count(*) FILTER (WHERE reserved_extra) AS reserved_extra_n,
         (array_agg(key ORDER BY key) FILTER (WHERE reserved_extra))[1:$1] AS reserved_extra_s,
         count(*) FILTER (WHERE in_both) AS both_n,
         (array_agg(key ORDER BY key) FILTER (WHERE in_both))[1:$1] AS both_s,
         count(*) FILTER (WHERE expired) AS expired_n,
         (array_agg(key ORDER BY key) FILTER (WHERE expired))[1:$1] AS expired_s
    FROM pairs
)
SELECT f.finding, f.count::int AS count, f.sample
  FROM found,
       LATERAL (VALUES ('ready-missing', ready_missing_n, ready_missing_s),
                       ('ready-extra', ready_extra_n, ready_extra_s),
                       ('reserved-missing', reserved_missing_n, reserved_missing_s),
                       ('reserved-extra', reserved_extra_n, reserved_extra_s),
                       ('both', both_n, both_s),
                       ('expired', expired_n, expired_s)) AS f(finding, count, sample)
 WHERE f.count > 0`;

/** The outcome of one checkpoint finding; the first check of a run computes them all. */
export const checkpointFinding = sharedFindings<CheckpointFinding>(CLASSIFY_SQL);

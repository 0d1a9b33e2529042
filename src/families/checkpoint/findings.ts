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
 * checks share this result instead. Definitions (key = checkpoint id):
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
), offending AS (
  SELECT f.finding, p.key
    FROM (SELECT * FROM pairs
           WHERE ready_missing OR ready_extra OR reserved_missing OR reserved_extra OR in_both
              OR expired) p,
         unnest(ARRAY[CASE WHEN p.ready_missing THEN 'ready-missing' END,
                      CASE WHEN p.ready_extra THEN 'ready-extra' END,
                      CASE WHEN p.reserved_missing THEN 'reserved-missing' END,
                      CASE WHEN p.reserved_extra THEN 'reserved-extra' END,
                      CASE WHEN p.in_both THEN 'both' END,
                      CASE WHEN p.expired THEN 'expired' END]) AS f(finding)
   WHERE f.finding IS NOT NULL
)
SELECT finding, count(*)::int AS count, (array_agg(key ORDER BY key))[1:$1] AS sample
  FROM offending GROUP BY finding`;

/** The outcome of one checkpoint finding; the first check of a run computes them all. */
export const checkpointFinding = sharedFindings<CheckpointFinding>(CLASSIFY_SQL);

import type { BatchOutcome, ResyncCounts, ResyncTarget } from '../../resync/types.js';

/**
 * beckett.checkpoints_ready / checkpoints_reserved from beckett.checkpoints, by the family's rule
 * checkpoint_is_ready(c) (ready) and reserved_until IS NOT NULL (reserved). Repairs missing rows,
 * rows with a wrong process_at / reserved_until, rows for checkpoints that are not eligible
 * (including a checkpoint in both tables), and rows whose checkpoint is gone.
 *
 * Safe with live writers, under the family's discipline that hot rows are only written by a
 * session holding their checkpoint's row lock. Each batch is one transaction over a range of
 * `batchSize` ids, starting at the next id present in checkpoints or either hot table (so gaps
 * in the ids cost nothing, and hot rows whose checkpoint is gone are in some range too):
 * 1. BATCH (one statement) sets the transaction's lock_timeout to half of deadlock_timeout (so
 *    against a writer that takes checkpoints out of id order the batch always gives up first,
 *    the runner retries it, and the application is never the deadlock victim), finds where the
 *    range starts (three index probes; nothing found: done), compares the range's candidate
 *    checkpoints with both hot tables in one full join (a set-based pass, no per-row probes) and
 *    locks FOR SHARE, in id order, only the checkpoints whose hot rows differ. A writer of one of
 *    them waits for this batch; one that commits first is waited for. A checkpoint that matched
 *    at this statement's snapshot is neither locked nor written: every committed state of it
 *    since is its writers' triggers' doing (the trigger writes both hot rows from the final row
 *    alone, and a writer's checkpoint row and hot rows commit together), so it is right.
 *    A range with nothing to repair costs this one statement (and the transaction's BEGIN and
 *    COMMIT).
 * 2. REPAIR runs with a fresh snapshot taken after the locks, so it sees the committed state of
 *    every locked checkpoint and every hot row its writers' triggers wrote; it writes only rows
 *    that still differ. Hot rows whose checkpoint is gone (possible only with the foreign keys'
 *    triggers disabled) have nothing to lock and are deleted here too.
 */

/**
 * One batch's first statement, prepared once per session (planning it on every batch was a
 * tenth of a drift repair's batch). $1, $2: the range [$1, $2] of ids.
 * 1. Sets the transaction's lock_timeout to half of deadlock_timeout (at least 10 ms), or the
 *    session's if lower (see step 1 of the header), local to the batch's transaction: the next
 *    batch reads the session's settings again. (Read with current_setting: the pg_settings view
 *    costs a few ms per read.)
 * 2. DIFF: the range's candidate checkpoints compared with both hot tables in one full join.
 *    Only candidates (process_at or reserved_until set: 10-15% of checkpoints) enter the join:
 *    any other checkpoint must have no hot row, so a hot row of one finds no partner and differs,
 *    as does a hot row whose checkpoint is gone (filtering first made the pass 1.5-2x faster).
 *    The rule is checkpoint_is_ready(c), inlined by the planner (a SQL function without SET
 *    clauses), so it costs no function call per row.
 * 3. LOCK: the checkpoints whose hot rows differ, FOR SHARE in id order. The setting of 1 is in
 *    force by then: the lock scan needs DIFF's ids, and DIFF's candidate scan is gated on the
 *    CTE that sets it (a MATERIALIZED CTE runs only when read).
 * 4. Where the next range starts: the smallest id after $2 in any of the three tables (three
 *    index probes; none: this is the last batch), so gaps in the ids cost nothing and the run
 *    needs no extra statement to find its end. Also checkpoints' id bounds, for progress.
 */
const BATCH = `
WITH range AS MATERIALIZED (
  SELECT $1::bigint AS lo, $2::bigint AS hi,
         set_config('lock_timeout',
                    least(nullif(extract(epoch FROM current_setting('lock_timeout')::interval) * 1000, 0),
                          greatest(extract(epoch FROM current_setting('deadlock_timeout')::interval) * 500, 10))::int || 'ms',
                    true) AS lock_timeout
), diff AS MATERIALIZED (
  SELECT coalesce(array_agg(coalesce(cp.id, r.id, v.id) ORDER BY coalesce(cp.id, r.id, v.id))
           FILTER (WHERE r.process_at IS DISTINCT FROM (CASE WHEN cp.ready THEN cp.process_at END)
                      OR v.reserved_until IS DISTINCT FROM cp.reserved_until), '{}') AS ids
    FROM (SELECT c.id, c.process_at, c.reserved_until, checkpoint_is_ready(c) AS ready
            FROM checkpoints c
           WHERE c.id >= $1::bigint AND c.id <= $2::bigint
             AND (c.process_at IS NOT NULL OR c.reserved_until IS NOT NULL)
             AND (SELECT lock_timeout FROM range) IS NOT NULL) cp
    FULL JOIN (SELECT id, process_at FROM checkpoints_ready
                WHERE id >= $1::bigint AND id <= $2::bigint) r ON r.id = cp.id
    FULL JOIN (SELECT id, reserved_until FROM checkpoints_reserved
                WHERE id >= $1::bigint AND id <= $2::bigint) v ON v.id = coalesce(cp.id, r.id)
), locked AS (
  SELECT c.id FROM checkpoints c
   WHERE c.id = ANY ((SELECT ids FROM diff)::bigint[])
   ORDER BY c.id
     FOR SHARE OF c
)
SELECT ids, (SELECT count(*) FROM locked)::int AS locked,
       least((SELECT min(id) FROM checkpoints WHERE id > $2::bigint),
             (SELECT min(id) FROM checkpoints_ready WHERE id > $2::bigint),
             (SELECT min(id) FROM checkpoints_reserved WHERE id > $2::bigint))::text AS next_first,
       (SELECT min(id) FROM checkpoints)::text AS low,
       (SELECT max(id) FROM checkpoints)::text AS high
  FROM diff`;

/** Where the first range starts: the smallest id in any of the three tables (NULL: none). */
const FIRST = `
SELECT least((SELECT min(id) FROM checkpoints), (SELECT min(id) FROM checkpoints_ready),
             (SELECT min(id) FROM checkpoints_reserved))::text AS first`;

/**
 * Repairs the hot rows of the ids $1 with a fresh snapshot: upserts what the rule wants, deletes
 * what it does not (including rows whose checkpoint is gone). `(xmax = 0)` tells an upsert's
 * insert from its update.
 */
const REPAIR = `
WITH cp AS MATERIALIZED (
  SELECT c.id, c.process_at, c.reserved_until, checkpoint_is_ready(c) AS ready
    FROM checkpoints c WHERE c.id = ANY ($1::bigint[])
), ready_upserted AS (
  INSERT INTO checkpoints_ready AS r (id, process_at)
  SELECT id, process_at FROM cp WHERE ready ORDER BY id
  ON CONFLICT (id) DO UPDATE SET process_at = EXCLUDED.process_at
   WHERE r.process_at IS DISTINCT FROM EXCLUDED.process_at
  RETURNING (xmax = 0) AS inserted
), ready_deleted AS (
  DELETE FROM checkpoints_ready r
   WHERE r.id = ANY ($1::bigint[])
     AND NOT EXISTS (SELECT 1 FROM cp WHERE cp.id = r.id AND cp.ready)
  RETURNING 1
), reserved_upserted AS (
  INSERT INTO checkpoints_reserved AS r (id, reserved_until)
  SELECT id, reserved_until FROM cp WHERE reserved_until IS NOT NULL ORDER BY id
  ON CONFLICT (id) DO UPDATE SET reserved_until = EXCLUDED.reserved_until
   WHERE r.reserved_until IS DISTINCT FROM EXCLUDED.reserved_until
  RETURNING (xmax = 0) AS inserted
), reserved_deleted AS (
  DELETE FROM checkpoints_reserved v
   WHERE v.id = ANY ($1::bigint[])
     AND NOT EXISTS (SELECT 1 FROM cp WHERE cp.id = v.id AND cp.reserved_until IS NOT NULL)
  RETURNING 1
), upserted AS (
  SELECT inserted FROM ready_upserted UNION ALL SELECT inserted FROM reserved_upserted
)
SELECT (SELECT count(*) FILTER (WHERE inserted) FROM upserted)::int AS inserted,
       (SELECT count(*) FILTER (WHERE NOT inserted) FROM upserted)::int AS updated,
       ((SELECT count(*) FROM ready_deleted) + (SELECT count(*) FROM reserved_deleted))::int AS deleted`;

const MAX_ID = 9223372036854775807n;

/** What a run would do, read-only: per hot row, classified as the batches would. */
const COUNT_DRIFT = `
WITH cp AS (
  SELECT c.id, c.process_at, c.reserved_until, checkpoint_is_ready(c) AS ready FROM checkpoints c
)
SELECT
  ((SELECT count(*) FROM cp WHERE ready
       AND NOT EXISTS (SELECT 1 FROM checkpoints_ready r WHERE r.id = cp.id))
 + (SELECT count(*) FROM cp WHERE reserved_until IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM checkpoints_reserved v WHERE v.id = cp.id)))::int AS inserted,
  ((SELECT count(*) FROM cp JOIN checkpoints_ready r ON r.id = cp.id
     WHERE cp.ready AND r.process_at IS DISTINCT FROM cp.process_at)
 + (SELECT count(*) FROM cp JOIN checkpoints_reserved v ON v.id = cp.id
     WHERE v.reserved_until IS DISTINCT FROM cp.reserved_until
       AND cp.reserved_until IS NOT NULL))::int AS updated,
  ((SELECT count(*) FROM checkpoints_ready r LEFT JOIN cp ON cp.id = r.id
     WHERE cp.id IS NULL OR NOT cp.ready)
 + (SELECT count(*) FROM checkpoints_reserved v LEFT JOIN cp ON cp.id = v.id
     WHERE cp.id IS NULL OR cp.reserved_until IS NULL))::int AS deleted`;

export const checkpointsTarget: ResyncTarget = {
  name: 'checkpoints',
  family: 'checkpoint',
  title: 'beckett.checkpoints_ready / checkpoints_reserved from beckett.checkpoints',
  defaultBatchSize: 50_000,

  /** Ids from the first checkpoint to the last (progress counts ids; no count(*) scan). */
  async totalKeys(client) {
    const { rows } = await client.query<{ n: string | null }>(
      'SELECT (max(id) - min(id) + 1)::text AS n FROM checkpoints',
    );
    return Number(rows[0]?.n ?? 0);
  },

  async countDrift(client): Promise<ResyncCounts> {
    const { rows } = await client.query<ResyncCounts>(COUNT_DRIFT);
    return rows[0]!;
  },

  // Both statements are prepared once per session (named). BATCH gets its range as parameters,
  // so its first (custom) plans see how much of the table it covers: index range scans for a
  // batch, sequential scans when one batch covers the table.
  // The cursor is the id before the next range's first id: each batch finds where the next one
  // starts (see BATCH), so the last batch ends the run without an empty one after it.
  async repairBatch(client, cursor, batchSize): Promise<BatchOutcome> {
    let lo: bigint;
    if (cursor === null) {
      const { rows } = await client.query<{ first: string | null }>(FIRST);
      if (rows[0]!.first === null)
        return { next: null, keys: 0, inserted: 0, updated: 0, deleted: 0 };
      lo = BigInt(rows[0]!.first);
    } else lo = BigInt(cursor) + 1n;
    const hi = lo > MAX_ID - BigInt(batchSize - 1) ? MAX_ID : lo + BigInt(batchSize - 1);
    const batch = await client.query<{
      ids: string[];
      next_first: string | null;
      low: string | null;
      high: string | null;
    }>({
      name: 'dbops-resync-checkpoints-batch',
      text: BATCH,
      values: [lo.toString(), hi.toString()],
    });
    const { ids, next_first, low, high } = batch.rows[0]!;
    const counts =
      ids.length === 0
        ? { inserted: 0, updated: 0, deleted: 0 }
        : (
            await client.query<ResyncCounts>({
              name: 'dbops-resync-checkpoints-repair',
              text: REPAIR,
              values: [ids],
            })
          ).rows[0]!;
    return {
      next: next_first === null ? null : (BigInt(next_first) - 1n).toString(),
      keys: idsCovered(lo - 1n, hi, low, high),
      ...counts,
    };
  },
};

/**
 * Checkpoint ids from the cursor (or the first checkpoint) to `to`, capped at the last
 * checkpoint: what a batch adds to the progress, whose total is max(id) - min(id) + 1.
 */
function idsCovered(after: bigint, to: bigint, low: string | null, high: string | null) {
  if (low === null || high === null) return 0;
  const start = after < BigInt(low) - 1n ? BigInt(low) - 1n : after;
  const end = to < BigInt(high) ? to : BigInt(high);
  return end > start ? Number(end - start) : 0;
}

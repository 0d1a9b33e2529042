/**
 * checkpoint 0003: the checkpoint query family as SQL functions, one statement each, so an
 * application (and the tests) drive the whole lifecycle through them: reserve, release, record
 * success, record error (retry later or fail), recover expired reservations, skip.
 *
 * Every function changes only `checkpoints`; the hot tables follow through 0001's trigger inside
 * the same statement. Beckett 0.23.0 also wrote the hot tables by hand next to its trigger, and
 * its reserve query failed on the reserved row the trigger had already inserted (duplicate key).
 *
 * Reserve and recover lock the *checkpoint* row (FOR UPDATE OF c ... SKIP LOCKED), never a hot
 * row: every writer takes the checkpoint first and its hot rows after, so lock order is the same
 * everywhere and a reserver never waits at all. After the lock, the row is re-checked against the
 * rule with its newest committed version, so a checkpoint another worker reserved (or completed)
 * since this statement's snapshot is skipped, never handed out twice.
 *
 * Created in a transaction; CREATE FUNCTION takes no table lock.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';

/**
 * The due, ready checkpoint with the oldest process_at in the group, among subscriptions in one of
 * `_subscription_statuses` (Beckett reserves for active and replaying subscriptions), reserved for
 * `_reservation_timeout`. No row when nothing is due. The returned reserved_until is the
 * reservation's token for the record/release functions.
 *
 * Shape: the ready rows are walked in process_at order (its index) and each candidate checkpoint
 * is locked in a LATERAL subquery. The lock inside the LATERAL keeps the planner from flattening
 * it, so the plan always drives from the small ready table; written as a plain join, the planner
 * preferred to scan every checkpoint of the group and sort them (measured 40 ms against 0.3 ms
 * on 20k checkpoints). The group's reservable subscriptions are computed once per statement (an
 * uncorrelated ARRAY, an InitPlan), so a ready row of another group or of a paused subscription
 * costs one primary-key probe of checkpoints instead of three joins (5x faster to skip).
 * Known limit: checkpoints_ready has no group column, so due rows that this group cannot take
 * (other groups, paused subscriptions) older than its own are walked on every call.
 */
const RESERVE_NEXT = `
UPDATE checkpoints c
   SET reserved_until = now() + _reservation_timeout
  FROM (SELECT x.id, x.replay_target_position
          FROM checkpoints_ready r
         CROSS JOIN LATERAL (
               SELECT c2.id, s.replay_target_position
                 FROM checkpoints c2
                 JOIN subscriptions s ON s.id = c2.subscription_id
                WHERE c2.id = r.id
                  AND c2.subscription_id = ANY (ARRAY(
                        SELECT s2.id FROM subscriptions s2
                          JOIN subscription_groups g ON g.id = s2.subscription_group_id
                         WHERE g.name = _group_name
                           AND s2.status = ANY (_subscription_statuses)))
                  AND c2.process_at <= now()
                  AND checkpoint_is_ready(c2)
                  FOR UPDATE OF c2 SKIP LOCKED) x
         WHERE r.process_at <= now()
         ORDER BY r.process_at
         LIMIT 1) AS d
 WHERE c.id = d.id
RETURNING c.id, c.subscription_id, c.stream_name, c.stream_position, c.stream_version,
          c.retry_attempts, c.status, d.replay_target_position, c.reserved_until
`;

/**
 * Gives a reservation back. An active checkpoint loses its process_at, and Beckett's preprocessor
 * sets it to now() again if it is still lagging (as Beckett's release did); a retry keeps its
 * scheduled process_at, so releasing it does not strand it. With `_reserved_until` (the token
 * reserve returned), only that reservation is released. True when a reservation was released.
 */
const RELEASE = `
WITH released AS (
  UPDATE checkpoints
     SET reserved_until = NULL,
         process_at = CASE WHEN status = 'retry' THEN process_at END
   WHERE id = _id
     AND reserved_until IS NOT NULL
     AND (_reserved_until IS NULL OR reserved_until = _reserved_until)
  RETURNING 1)
SELECT count(*) > 0 FROM released
`;

/**
 * Processing succeeded up to `_stream_position`: clears the reservation, the retry state and
 * process_at (or sets it to `_process_at`); still lagging, the preprocessor schedules it again.
 * With `_reserved_until`, applies only while that reservation is still the current one (a worker
 * whose reservation expired and was handed to another gets false and must not count it done).
 */
const RECORD_SUCCESS = `
WITH done AS (
  UPDATE checkpoints
     SET stream_position = _stream_position,
         process_at = _process_at,
         reserved_until = NULL,
         status = 'active',
         retry_attempts = 0,
         retries = NULL
   WHERE id = _id
     AND (_reserved_until IS NULL OR reserved_until = _reserved_until)
  RETURNING 1)
SELECT count(*) > 0 FROM done
`;

/**
 * Processing failed at `_stream_position`: appends the error to `retries`, counts the attempt,
 * clears the reservation, and schedules a retry at `_retry_at` (status 'retry', ready again then)
 * or, when `_retry_at` is NULL, marks the checkpoint failed (never ready). `_reserved_until` as
 * for record_success.
 */
const RECORD_ERROR = `
WITH failed AS (
  UPDATE checkpoints
     SET stream_position = _stream_position,
         status = CASE WHEN _retry_at IS NULL THEN 'failed' ELSE 'retry' END::checkpoint_status,
         process_at = _retry_at,
         reserved_until = NULL,
         retry_attempts = retry_attempts + 1,
         retries = coalesce(retries, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
           'attempt', retry_attempts + 1, 'error', _error, 'timestamp', now()))
   WHERE id = _id
     AND (_reserved_until IS NULL OR reserved_until = _reserved_until)
  RETURNING 1)
SELECT count(*) > 0 FROM failed
`;

/**
 * Up to `_batch_size` reservations past reserved_until (of one group, or of all when
 * `_group_name` is NULL), oldest first, released so their checkpoints are ready again with their
 * old process_at. Checkpoints locked by someone else are skipped (the next call gets them); the
 * re-check after the lock skips a reservation completed or renewed meanwhile. Returns how many.
 * Same LATERAL shape as reserve, driven by the reserved_until index.
 */
const RECOVER_EXPIRED = `
WITH expired AS (
  SELECT x.id
    FROM checkpoints_reserved r
   CROSS JOIN LATERAL (
         SELECT c.id
           FROM checkpoints c
           JOIN subscriptions s ON s.id = c.subscription_id
           JOIN subscription_groups g ON g.id = s.subscription_group_id
          WHERE c.id = r.id
            AND c.reserved_until <= now()
            AND (_group_name IS NULL OR g.name = _group_name)
            FOR UPDATE OF c SKIP LOCKED) x
   WHERE r.reserved_until <= now()
   ORDER BY r.reserved_until
   LIMIT _batch_size
), recovered AS (
  UPDATE checkpoints c SET reserved_until = NULL FROM expired e WHERE c.id = e.id RETURNING 1)
SELECT count(*)::int FROM recovered
`;

/**
 * An operator skips the message a checkpoint is stuck on: position + 1, back to active with no
 * retry state and no reservation; the preprocessor schedules it if it is still lagging.
 * Returns how many checkpoints were skipped.
 */
const SKIP = `
WITH skipped AS (
  UPDATE checkpoints
     SET stream_position = stream_position + 1,
         status = 'active',
         process_at = NULL,
         reserved_until = NULL,
         retry_attempts = 0,
         retries = NULL
   WHERE id = ANY (_ids)
  RETURNING 1)
SELECT count(*)::int FROM skipped
`;

/** `types` identifies the function for DROP (the argument types of `signature`). */
const FUNCTIONS: {
  name: string;
  signature: string;
  types: string;
  returns: string;
  body: string;
}[] = [
  {
    name: 'checkpoint_reserve_next',
    signature: `_group_name text, _reservation_timeout interval,
  _subscription_statuses subscription_status[] DEFAULT '{active,replay}'`,
    types: 'text, interval, subscription_status[]',
    returns: `TABLE (id bigint, subscription_id bigint, stream_name text, stream_position bigint,
  stream_version bigint, retry_attempts int, status checkpoint_status,
  replay_target_position bigint, reserved_until timestamptz)`,
    body: RESERVE_NEXT,
  },
  {
    name: 'checkpoint_release',
    signature: '_id bigint, _reserved_until timestamptz DEFAULT NULL',
    types: 'bigint, timestamptz',
    returns: 'boolean',
    body: RELEASE,
  },
  {
    name: 'checkpoint_record_success',
    signature: `_id bigint, _stream_position bigint, _process_at timestamptz DEFAULT NULL,
  _reserved_until timestamptz DEFAULT NULL`,
    types: 'bigint, bigint, timestamptz, timestamptz',
    returns: 'boolean',
    body: RECORD_SUCCESS,
  },
  {
    name: 'checkpoint_record_error',
    signature: `_id bigint, _stream_position bigint, _error jsonb, _retry_at timestamptz,
  _reserved_until timestamptz DEFAULT NULL`,
    types: 'bigint, bigint, jsonb, timestamptz, timestamptz',
    returns: 'boolean',
    body: RECORD_ERROR,
  },
  {
    name: 'checkpoint_recover_expired',
    signature: '_group_name text DEFAULT NULL, _batch_size int DEFAULT 1000',
    types: 'text, int',
    returns: 'int',
    body: RECOVER_EXPIRED,
  },
  {
    name: 'checkpoint_skip',
    signature: '_ids bigint[]',
    types: 'bigint[]',
    returns: 'int',
    body: SKIP,
  },
];

export const installs: SchemaManifest = {
  functions: FUNCTIONS.map((f) => ({ name: f.name, body: f.body })),
};

export async function up(pgm: MigrationBuilder): Promise<void> {
  for (const f of FUNCTIONS) {
    pgm.sql(`
CREATE FUNCTION ${f.name}(${f.signature})
RETURNS ${f.returns}
LANGUAGE sql VOLATILE
SET search_path FROM CURRENT
AS $fn$${f.body}$fn$`);
  }
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  // By name and argument types, so an unrelated overload of the same name survives.
  for (const f of [...FUNCTIONS].reverse())
    pgm.sql(`DROP FUNCTION IF EXISTS ${f.name}(${f.types})`);
}

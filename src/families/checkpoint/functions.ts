import type { CheckpointShape } from './shape.js';

/**
 * The checkpoint query family as SQL functions (see migrations/checkpoint/0003), generated from
 * the schema's shape: the subscription join follows how checkpoints are keyed, every parameter
 * and result has the column's real type, and record_error appends to `retries` in its real type.
 * Migration 0003 creates these; checks/checkpoint/schema.ts regenerates them to compare bodies.
 */
export interface CheckpointFunction {
  name: string;
  signature: string;
  /** Argument types, which identify the function for DROP. */
  types: string;
  returns: string;
  body: string;
}

/**
 * Reserve: ready rows in process_at order (the small hot table's index), each candidate locked in
 * a LATERAL subquery (which the planner cannot flatten, so the plan always drives from the hot
 * table) and re-checked against the rule with its newest committed version. The group's
 * reservable subscriptions are computed once per statement (an uncorrelated ARRAY, an InitPlan).
 * Keyed by names, the group is a column of the checkpoint itself.
 */
function reserveCandidate(shape: CheckpointShape): string {
  if (shape.keying === 'id')
    return `
               SELECT c2.id, s.replay_target_position
                 FROM checkpoints c2
                 JOIN subscriptions s ON s.id = c2.subscription_id
                WHERE c2.id = r.id
                  AND c2.subscription_id = ANY (ARRAY(
                        SELECT s2.id FROM subscriptions s2
                          JOIN subscription_groups g ON g.id = s2.subscription_group_id
                         WHERE g.name = _group_name
                           AND s2.status = ANY (_subscription_statuses)))`;
  return `
               SELECT c2.id, s.replay_target_position
                 FROM checkpoints c2
                 JOIN subscriptions s ON s.group_name = c2.group_name AND s.name = c2.name
                WHERE c2.id = r.id
                  AND c2.group_name = _group_name
                  AND c2.name = ANY (ARRAY(
                        SELECT s2.name FROM subscriptions s2
                         WHERE s2.group_name = _group_name
                           AND s2.status = ANY (_subscription_statuses)))`;
}

function reserveNext(shape: CheckpointShape): string {
  const keys = shape.keyColumns.map((k) => `c.${k.name}`).join(', ');
  return `
UPDATE checkpoints c
   SET reserved_until = now() + _reservation_timeout
  FROM (SELECT x.id, x.replay_target_position
          FROM checkpoints_ready r
         CROSS JOIN LATERAL (${reserveCandidate(shape)}
                  AND c2.process_at <= now()
                  AND checkpoint_is_ready(c2)
                  FOR UPDATE OF c2 SKIP LOCKED) x
         WHERE r.process_at <= now()
         ORDER BY r.process_at
         LIMIT 1) AS d
 WHERE c.id = d.id
RETURNING c.id, ${keys}, c.stream_name, c.stream_position, c.stream_version,
          c.retry_attempts, c.status, d.replay_target_position, c.reserved_until
`;
}

/** Expired reservations of one group (or all), oldest first, released; same LATERAL shape. */
function recoverExpired(shape: CheckpointShape): string {
  const group =
    shape.keying === 'id'
      ? `JOIN subscriptions s ON s.id = c.subscription_id
           JOIN subscription_groups g ON g.id = s.subscription_group_id
          WHERE c.id = r.id
            AND (_group_name IS NULL OR g.name = _group_name)`
      : `WHERE c.id = r.id
            AND (_group_name IS NULL OR c.group_name = _group_name)`;
  return `
WITH expired AS (
  SELECT x.id
    FROM checkpoints_reserved r
   CROSS JOIN LATERAL (
         SELECT c.id
           FROM checkpoints c
           ${group}
            AND c.reserved_until <= now()
            FOR UPDATE OF c SKIP LOCKED) x
   WHERE r.reserved_until <= now()
   ORDER BY r.reserved_until
   LIMIT _batch_size
), recovered AS (
  UPDATE checkpoints c SET reserved_until = NULL FROM expired e WHERE c.id = e.id RETURNING 1)
SELECT count(*)::int FROM recovered
`;
}

/**
 * The retries value after one more failed attempt, in the column's own type: Beckett's
 * RecordCheckpointError appends ROW(attempt, error, now())::retry to a retry[]; the simplified
 * schema keeps a jsonb array of objects. Attributes other than those three are left NULL.
 */
function appendRetry(shape: CheckpointShape): string {
  const r = shape.retries;
  if (r.kind === 'jsonb')
    return `coalesce(retries, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
           'attempt', retry_attempts + 1, 'error', _error, 'timestamp', now()))`;
  const values: Record<string, string> = {
    attempt: 'retry_attempts + 1',
    error: '_error',
    timestamp: 'now()',
  };
  const row = r.attributes.map((a) => values[a] ?? 'NULL').join(', ');
  return `array_append(coalesce(retries, ARRAY[]::${shape.types.retries}), ROW(${row})::${r.element})`;
}

/** Generated with the shape's types; the bodies' comments are in migrations/checkpoint/0003. */
export function checkpointFunctions(shape: CheckpointShape): CheckpointFunction[] {
  const t = shape.types;
  const errorType = shape.retries.kind === 'jsonb' ? 'jsonb' : shape.retries.errorType;
  const keyResults = shape.keyColumns.map((k) => `${k.name} ${k.type}`).join(', ');
  return [
    {
      name: 'checkpoint_reserve_next',
      signature: `_group_name text, _reservation_timeout interval,
  _subscription_statuses ${t.subscriptionStatus}[] DEFAULT '{active,replay}'`,
      types: `text, interval, ${t.subscriptionStatus}[]`,
      returns: `TABLE (id ${t.id}, ${keyResults}, stream_name ${t.streamName},
  stream_position ${t.streamPosition}, stream_version ${t.streamVersion},
  retry_attempts ${t.retryAttempts}, status ${t.status},
  replay_target_position ${t.replayTargetPosition}, reserved_until ${t.reservedUntil})`,
      body: reserveNext(shape),
    },
    {
      name: 'checkpoint_release',
      signature: `_id ${t.id}, _reserved_until ${t.reservedUntil} DEFAULT NULL`,
      types: `${t.id}, ${t.reservedUntil}`,
      returns: 'boolean',
      body: `
WITH released AS (
  UPDATE checkpoints
     SET reserved_until = NULL,
         process_at = CASE WHEN status = 'retry' THEN process_at END
   WHERE id = _id
     AND reserved_until IS NOT NULL
     AND (_reserved_until IS NULL OR reserved_until = _reserved_until)
  RETURNING 1)
SELECT count(*) > 0 FROM released
`,
    },
    {
      name: 'checkpoint_record_success',
      signature: `_id ${t.id}, _stream_position ${t.streamPosition}, _process_at ${t.processAt} DEFAULT NULL,
  _reserved_until ${t.reservedUntil} DEFAULT NULL`,
      types: `${t.id}, ${t.streamPosition}, ${t.processAt}, ${t.reservedUntil}`,
      returns: 'boolean',
      body: `
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
`,
    },
    {
      name: 'checkpoint_record_error',
      signature: `_id ${t.id}, _stream_position ${t.streamPosition}, _error ${errorType}, _retry_at ${t.processAt},
  _reserved_until ${t.reservedUntil} DEFAULT NULL`,
      types: `${t.id}, ${t.streamPosition}, ${errorType}, ${t.processAt}, ${t.reservedUntil}`,
      returns: 'boolean',
      body: `
WITH failed AS (
  UPDATE checkpoints
     SET stream_position = _stream_position,
         status = CASE WHEN _retry_at IS NULL THEN 'failed' ELSE 'retry' END::${t.status},
         process_at = _retry_at,
         reserved_until = NULL,
         retry_attempts = retry_attempts + 1,
         retries = ${appendRetry(shape)}
   WHERE id = _id
     AND (_reserved_until IS NULL OR reserved_until = _reserved_until)
  RETURNING 1)
SELECT count(*) > 0 FROM failed
`,
    },
    {
      name: 'checkpoint_recover_expired',
      signature: '_group_name text DEFAULT NULL, _batch_size int DEFAULT 1000',
      types: 'text, int',
      returns: 'int',
      body: recoverExpired(shape),
    },
    {
      name: 'checkpoint_skip',
      signature: `_ids ${t.id}[]`,
      types: `${t.id}[]`,
      returns: 'int',
      body: `
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
`,
    },
  ];
}

/**
 * Drift in the checkpoint hot tables, made behind the triggers' back (session_replication_role
 * = replica: no row triggers, no foreign key checks) as a bulk load or a restore would. Every
 * kind the checks and the resync know, on disjoint checkpoints picked by id modulo m (spread
 * over the table; m = 500, about 0.2% of the checkpoints each, fewer on small data):
 * - id % m = 1: ready rows deleted (ready-missing);
 * - id % m = 2: ready rows with process_at an hour off (ready-extra);
 * - id % m = 3: ready rows added to checkpoints without one (ready-extra; `both` when the
 *   checkpoint is reserved);
 * - id % m = 4: reserved rows deleted (reserved-missing);
 * - id % m = 5: reserved rows added to unreserved checkpoints (reserved-extra; `both` when the
 *   checkpoint is ready);
 * - id % m = 6: reserved rows with reserved_until a minute off (reserved-extra);
 * - 5 ready and 3 reserved rows past the last checkpoint (orphans: ready-extra, reserved-extra).
 * Applied to hot tables that equal the truth, it always makes the same drift, so it can be
 * remade before every resync run.
 */
import type pg from 'pg';

/** What the drift made: the expected finding counts of `check consistency checkpoint`. */
export type CheckpointDrift = {
  'ready-missing': number;
  'ready-extra': number;
  'reserved-missing': number;
  'reserved-extra': number;
  both: number;
};

const DRIFT_SQL = `
WITH ready_deleted AS (
  DELETE FROM beckett.checkpoints_ready WHERE id % $1 = 1 RETURNING 1
), ready_moved AS (
  UPDATE beckett.checkpoints_ready SET process_at = process_at + interval '1 hour'
   WHERE id % $1 = 2 RETURNING 1
), ready_added AS (
  INSERT INTO beckett.checkpoints_ready (id, process_at)
  SELECT c.id, now() FROM beckett.checkpoints c
   WHERE c.id % $1 = 3 AND NOT EXISTS (SELECT 1 FROM beckett.checkpoints_ready r WHERE r.id = c.id)
  RETURNING id
), reserved_deleted AS (
  DELETE FROM beckett.checkpoints_reserved WHERE id % $1 = 4 RETURNING 1
), reserved_added AS (
  INSERT INTO beckett.checkpoints_reserved (id, reserved_until)
  SELECT c.id, now() + interval '1 hour' FROM beckett.checkpoints c
   WHERE c.id % $1 = 5 AND c.reserved_until IS NULL
  RETURNING id
), reserved_moved AS (
  UPDATE beckett.checkpoints_reserved SET reserved_until = reserved_until + interval '1 minute'
   WHERE id % $1 = 6 RETURNING 1
), last AS (
  SELECT max(id) AS id FROM beckett.checkpoints
), ready_orphans AS (
  INSERT INTO beckett.checkpoints_ready (id, process_at)
  SELECT last.id + n, now() FROM last, generate_series(1, 5) n RETURNING 1
), reserved_orphans AS (
  INSERT INTO beckett.checkpoints_reserved (id, reserved_until)
  SELECT last.id + n, now() FROM last, generate_series(6, 8) n RETURNING 1
)
SELECT (SELECT count(*) FROM ready_deleted)::int AS "ready-missing",
       ((SELECT count(*) FROM ready_moved) + (SELECT count(*) FROM ready_added)
        + (SELECT count(*) FROM ready_orphans))::int AS "ready-extra",
       (SELECT count(*) FROM reserved_deleted)::int AS "reserved-missing",
       ((SELECT count(*) FROM reserved_added) + (SELECT count(*) FROM reserved_moved)
        + (SELECT count(*) FROM reserved_orphans))::int AS "reserved-extra",
       ((SELECT count(*) FROM ready_added a
           JOIN beckett.checkpoints c ON c.id = a.id WHERE c.reserved_until IS NOT NULL)
        + (SELECT count(*) FROM reserved_added a
            JOIN beckett.checkpoints_ready r ON r.id = a.id))::int AS both`;

/** The modulus for `checkpoints` rows: 500, smaller on small data so every kind occurs. */
export function driftModulus(checkpoints: number): number {
  return Math.min(500, Math.max(10, Math.floor(checkpoints / 200)));
}

/** Makes the drift (one transaction) and returns what it made. */
export async function makeDrift(client: pg.ClientBase, modulus: number): Promise<CheckpointDrift> {
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    const { rows } = await client.query<CheckpointDrift>(DRIFT_SQL, [modulus]);
    await client.query('COMMIT');
    return rows[0]!;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** Empties both hot tables behind the triggers' back (the resync then rebuilds them whole). */
export async function emptyHotTables(client: pg.ClientBase): Promise<void> {
  await client.query('TRUNCATE beckett.checkpoints_ready, beckett.checkpoints_reserved');
}

import type { BatchOutcome, ResyncCounts, ResyncTarget } from '../types.js';

/**
 * beckett.checkpoints_ready / checkpoints_reserved from beckett.checkpoints, by the family's rule
 * checkpoint_is_ready(c) (ready) and reserved_until IS NOT NULL (reserved). Repairs missing rows,
 * rows with a wrong process_at / reserved_until, rows for checkpoints that are not eligible
 * (including a checkpoint in both tables), and rows whose checkpoint is gone.
 *
 * Safe with live writers, under the family's discipline that hot rows are only written by a
 * session holding their checkpoint's row lock. Each batch of checkpoints (id order) is one
 * transaction:
 * 1. LOCK_BATCH locks FOR SHARE, in id order, the checkpoints of the batch that have or should
 *    have a hot row. A writer of one of them waits for this batch; one that commits first is
 *    waited for. The transaction's lock_timeout is half of deadlock_timeout, so against a writer
 *    that takes checkpoints out of id order the batch always gives up first (the runner retries
 *    it) and the application is never the deadlock victim.
 * 2. REPAIR_BATCH runs with a fresh snapshot taken after the locks, so it sees the committed
 *    state of every locked checkpoint and every hot row its writers' triggers wrote; it writes
 *    only rows that differ. A checkpoint that becomes eligible after the lock scan was not locked
 *    and is left to its writer's trigger.
 */
const LOCK_BATCH = `
WITH batch AS MATERIALIZED (
  SELECT id FROM checkpoints
   WHERE id > coalesce($1::bigint, -9223372036854775808)
   ORDER BY id
   LIMIT $2
), locked AS (
  SELECT c.id FROM checkpoints c
   WHERE c.id IN (SELECT id FROM batch)
     AND (c.process_at IS NOT NULL OR c.reserved_until IS NOT NULL
          OR EXISTS (SELECT 1 FROM checkpoints_ready r WHERE r.id = c.id)
          OR EXISTS (SELECT 1 FROM checkpoints_reserved v WHERE v.id = c.id))
   ORDER BY c.id
     FOR SHARE OF c
)
SELECT (SELECT max(id)::text FROM batch) AS next,
       (SELECT count(*) FROM batch)::int AS keys,
       coalesce((SELECT array_agg(id ORDER BY id) FROM locked), '{}') AS ids`;

/** `(xmax = 0)` tells an upsert's insert from its update. */
const REPAIR_BATCH = `
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
  DELETE FROM checkpoints_ready r USING cp WHERE r.id = cp.id AND NOT cp.ready RETURNING 1
), reserved_upserted AS (
  INSERT INTO checkpoints_reserved AS r (id, reserved_until)
  SELECT id, reserved_until FROM cp WHERE reserved_until IS NOT NULL ORDER BY id
  ON CONFLICT (id) DO UPDATE SET reserved_until = EXCLUDED.reserved_until
   WHERE r.reserved_until IS DISTINCT FROM EXCLUDED.reserved_until
  RETURNING (xmax = 0) AS inserted
), reserved_deleted AS (
  DELETE FROM checkpoints_reserved r USING cp WHERE r.id = cp.id AND cp.reserved_until IS NULL
  RETURNING 1
), upserted AS (
  SELECT inserted FROM ready_upserted UNION ALL SELECT inserted FROM reserved_upserted
)
SELECT (SELECT count(*) FILTER (WHERE inserted) FROM upserted)::int AS inserted,
       (SELECT count(*) FILTER (WHERE NOT inserted) FROM upserted)::int AS updated,
       ((SELECT count(*) FROM ready_deleted) + (SELECT count(*) FROM reserved_deleted))::int AS deleted`;

/** Half of deadlock_timeout (see LOCK_BATCH), or the session's lock_timeout if lower. */
const BATCH_LOCK_TIMEOUT = `
SELECT set_config('lock_timeout', least(nullif(l.setting::int, 0), greatest(d.setting::int / 2, 10)) || 'ms', true)
  FROM pg_settings l, pg_settings d
 WHERE l.name = 'lock_timeout' AND d.name = 'deadlock_timeout'`;

/** Hot rows whose checkpoint is gone (possible only with the foreign keys' triggers disabled). */
const DELETE_ORPHANS = `
WITH ready AS (
  DELETE FROM checkpoints_ready r WHERE NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.id = r.id)
  RETURNING 1
), reserved AS (
  DELETE FROM checkpoints_reserved v WHERE NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.id = v.id)
  RETURNING 1
)
SELECT ((SELECT count(*) FROM ready) + (SELECT count(*) FROM reserved))::int AS deleted`;

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
  defaultBatchSize: 10_000,

  async totalKeys(client) {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM checkpoints',
    );
    return rows[0]?.n ?? 0;
  },

  async countDrift(client): Promise<ResyncCounts> {
    const { rows } = await client.query<ResyncCounts>(COUNT_DRIFT);
    return rows[0]!;
  },

  async repairBatch(client, cursor, batchSize): Promise<BatchOutcome> {
    await client.query(BATCH_LOCK_TIMEOUT);
    const locked = await client.query<{ next: string | null; keys: number; ids: string[] }>(
      LOCK_BATCH,
      [cursor, batchSize],
    );
    const { next, keys, ids } = locked.rows[0]!;
    const counts =
      ids.length === 0
        ? { inserted: 0, updated: 0, deleted: 0 }
        : (await client.query<ResyncCounts>(REPAIR_BATCH, [ids])).rows[0]!;
    return { next: keys < batchSize ? null : next, keys, ...counts };
  },

  async finish(client): Promise<ResyncCounts> {
    const { rows } = await client.query<{ deleted: number }>(DELETE_ORPHANS);
    return { inserted: 0, updated: 0, deleted: rows[0]!.deleted };
  },
};

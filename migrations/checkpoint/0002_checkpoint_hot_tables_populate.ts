/**
 * checkpoint 0002: fills checkpoints_ready / checkpoints_reserved from the checkpoints that existed
 * before the trigger, with the trigger's own rule (checkpoint_is_ready) and no table lock.
 *
 * Runs after 0001 committed: every checkpoint write from then on goes through the trigger, and
 * every write from before is visible here, so nothing is missed. Each batch is one autocommitted
 * statement over the next `batchSize` candidate checkpoints (process_at or reserved_until set) in
 * id order. It locks them FOR SHARE, which waits for a concurrent writer of a checkpoint and then
 * reads that writer's committed row, so a batch never writes a hot row from a stale version
 * (without the lock, a batch could re-insert a ready row that a concurrent reservation had just
 * removed). A checkpoint that becomes a candidate after the batch's snapshot is the trigger's job.
 * Only candidates are locked: at 1% ready, 99% of the table is read but never written.
 *
 * The batch reconciles both ways (inserts what is missing, fixes process_at / reserved_until,
 * deletes what is not eligible), so rerunning after an interruption, or over rows the trigger
 * already wrote, changes nothing.
 *
 * Deadlocks: a writer that updates several checkpoints out of id order can hold one this batch
 * waits for while waiting for one this batch holds. The batch runs with a lock_timeout below
 * deadlock_timeout, so it always gives up first (and is retried with the same key): a writer is
 * never chosen as the deadlock victim of the migration.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { type MigrationContext, runBatches } from '../../src/migrate/context.js';

const POPULATE_BATCH = `
WITH batch AS (
  SELECT c AS cp
    FROM checkpoints c
   WHERE c.id > coalesce($1::bigint, -9223372036854775808)
     AND (c.process_at IS NOT NULL OR c.reserved_until IS NOT NULL)
   ORDER BY c.id
   LIMIT $2
     FOR SHARE
), ready AS (
  INSERT INTO checkpoints_ready AS r (id, process_at)
  SELECT (cp).id, (cp).process_at FROM batch WHERE checkpoint_is_ready(cp) ORDER BY 1
  ON CONFLICT (id) DO UPDATE SET process_at = EXCLUDED.process_at
   WHERE r.process_at IS DISTINCT FROM EXCLUDED.process_at
  RETURNING 1
), not_ready AS (
  DELETE FROM checkpoints_ready r USING batch b
   WHERE r.id = (b.cp).id AND NOT checkpoint_is_ready(b.cp)
  RETURNING 1
), reserved AS (
  INSERT INTO checkpoints_reserved AS r (id, reserved_until)
  SELECT (cp).id, (cp).reserved_until FROM batch WHERE (cp).reserved_until IS NOT NULL ORDER BY 1
  ON CONFLICT (id) DO UPDATE SET reserved_until = EXCLUDED.reserved_until
   WHERE r.reserved_until IS DISTINCT FROM EXCLUDED.reserved_until
  RETURNING 1
), not_reserved AS (
  DELETE FROM checkpoints_reserved r USING batch b
   WHERE r.id = (b.cp).id AND (b.cp).reserved_until IS NULL
  RETURNING 1
)
SELECT (SELECT max((cp).id)::text FROM batch) AS next,
       (SELECT count(*) FROM batch) AS keys,
       (SELECT count(*) FROM ready) + (SELECT count(*) FROM not_ready)
     + (SELECT count(*) FROM reserved) + (SELECT count(*) FROM not_reserved) AS rows`;

/** Half of deadlock_timeout (so a batch always times out first), or the session's if lower. */
const POPULATE_LOCK_TIMEOUT = `
SELECT least(nullif(l.setting::int, 0), greatest(d.setting::int / 2, 10)) AS ms
  FROM pg_settings l, pg_settings d
 WHERE l.name = 'lock_timeout' AND d.name = 'deadlock_timeout'`;

/** Enough for a writer holding a checkpoint for about a minute; then the step fails, rerunnable. */
const BATCH_LOCK_RETRIES = 10;

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  const spec = {
    label: 'checkpoint hot tables (candidate checkpoints)',
    sql: POPULATE_BATCH,
    lockRetries: BATCH_LOCK_RETRIES,
  };
  if (ctx.dryRun) {
    await runBatches(pgm, ctx, spec);
    return;
  }
  const [{ total }] = await pgm.db.select(
    'SELECT count(*)::bigint AS total FROM checkpoints WHERE process_at IS NOT NULL OR reserved_until IS NOT NULL',
  );
  const [{ previous }] = await pgm.db.select("SELECT current_setting('lock_timeout') AS previous");
  const [{ ms }] = await pgm.db.select(POPULATE_LOCK_TIMEOUT);
  await pgm.db.query("SELECT set_config('lock_timeout', $1, false)", [`${ms}ms`]);
  try {
    await runBatches(pgm, ctx, { ...spec, total: Number(total) });
  } finally {
    await pgm.db.query("SELECT set_config('lock_timeout', $1, false)", [previous]);
  }
  // Fresh statistics, so the reserve plan sees the hot tables' real size from the start.
  // SHARE UPDATE EXCLUSIVE on the two small tables only: writers are not blocked.
  await pgm.db.query('ANALYZE checkpoints_ready, checkpoints_reserved');
}

/** Nothing to undo: the rows go when 0001's down drops the tables. */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction();
}

/**
 * lookup 0002: fills partition_lookup for messages that existed before the trigger.
 *
 * Runs after 0001 committed, so every message committed from then on goes through the trigger,
 * and every message committed before is visible to these batches: nothing is missed. Each batch
 * of partitions (in id order) is its own transaction, so writers are never blocked for longer
 * than one batch holds its few lookup row locks. The upsert is the trigger's advance-only one: a
 * concurrent trigger write and a batch converge on the newest message whatever their order, and
 * a rerun after an interruption just continues (rows already right are skipped).
 * An adopted table (Queen's own) may hold rows the advance-only upsert cannot fix (ahead, wrong
 * queue, partitions without messages): then the resync's repair pass runs too.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { repairAdopted } from '../../src/families/lookup/adoptRepair.js';
import { type MigrationContext, runBatches } from '../../src/migrate/context.js';

const BACKFILL_BATCH = `
WITH batch AS (
  SELECT p.id, q.name AS queue_name
    FROM partitions p JOIN queues q ON q.id = p.queue_id
   WHERE p.id > coalesce($1::uuid, '00000000-0000-0000-0000-000000000000')
   ORDER BY p.id
   LIMIT $2
), newest AS (
  SELECT b.queue_name, b.id AS partition_id, m.id, m.created_at
    FROM batch b
   CROSS JOIN LATERAL (SELECT id, created_at FROM messages
                        WHERE partition_id = b.id AND created_at IS NOT NULL
                        ORDER BY created_at DESC, id DESC LIMIT 1) m
), written AS (
  INSERT INTO partition_lookup AS pl
         (queue_name, partition_id, last_message_id, last_message_created_at, updated_at)
  SELECT queue_name, partition_id, id, created_at, now() FROM newest ORDER BY partition_id
  ON CONFLICT (queue_name, partition_id) DO UPDATE
     SET last_message_id = EXCLUDED.last_message_id,
         last_message_created_at = EXCLUDED.last_message_created_at,
         updated_at = EXCLUDED.updated_at
   WHERE (pl.last_message_created_at, pl.last_message_id)
       < (EXCLUDED.last_message_created_at, EXCLUDED.last_message_id)
  RETURNING 1
)
SELECT (SELECT id::text FROM batch ORDER BY id DESC LIMIT 1) AS next,
       (SELECT count(*) FROM batch) AS keys,
       (SELECT count(*) FROM written) AS rows`;

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  const total = ctx.dryRun
    ? undefined
    : Number((await pgm.db.select('SELECT count(*) AS n FROM partitions'))[0]?.n ?? 0);
  // A partition (or queue) deleted after a batch's snapshot fails its lookup row's foreign key
  // (23503): the batch runs again and no longer sees it. No lock on the partitions: a lock is a
  // heap write per row.
  await runBatches(pgm, ctx, {
    label: 'lookup backfill (partitions)',
    sql: BACKFILL_BATCH,
    total,
    retryDeletedKeys: true,
  });
  await repairAdopted(pgm, ctx);
}

/** Nothing to undo: the rows go when 0001's down drops the table. */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction();
}

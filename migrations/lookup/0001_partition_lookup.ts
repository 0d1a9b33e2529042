/**
 * lookup 0001: queen.partition_lookup, its trigger function and statement-level trigger, in one
 * short transaction (created, or Queen's own adopted in place). CREATE TRIGGER takes SHARE ROW EXCLUSIVE on messages (blocks inserts) only
 * for the milliseconds this transaction lasts; lock_timeout keeps it from queueing behind a long
 * transaction while writers queue behind it. The backfill is the next migration, in batches.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { adoptDownSql, adoptUpSql } from '../../src/families/lookup/adopt.js';
import type { MigrationContext } from '../../src/migrate/context.js';
import { lockWithoutDeadlockSql } from '../../src/migrate/lockOrder.js';

/**
 * Advances each partition's row only forward by (created_at, id), one upsert per statement.
 * Rows are fed in partition_id order so two batches touching the same partitions lock them in
 * the same order and cannot deadlock. Messages without created_at are ignored (Queen always sets
 * it). The WHERE makes an older message that commits late a no-op and skips unchanged rows, so
 * no dead tuple is written for them.
 */
export const TRIGGER_FUNCTION_BODY = `
BEGIN
  INSERT INTO partition_lookup AS pl
         (queue_name, partition_id, last_message_id, last_message_created_at, updated_at)
  SELECT q.name, newest.partition_id, newest.id, newest.created_at, now()
    FROM (SELECT DISTINCT ON (partition_id) partition_id, id, created_at
            FROM new_messages
           WHERE created_at IS NOT NULL AND partition_id IS NOT NULL
           ORDER BY partition_id, created_at DESC, id DESC) AS newest
    JOIN partitions p ON p.id = newest.partition_id
    JOIN queues q ON q.id = p.queue_id
   ORDER BY newest.partition_id
  ON CONFLICT (queue_name, partition_id) DO UPDATE
     SET last_message_id = EXCLUDED.last_message_id,
         last_message_created_at = EXCLUDED.last_message_created_at,
         updated_at = EXCLUDED.updated_at
   WHERE (pl.last_message_created_at, pl.last_message_id)
       < (EXCLUDED.last_message_created_at, EXCLUDED.last_message_id);
  RETURN NULL;
END
`;

export const installs: SchemaManifest = {
  tables: [
    {
      name: 'partition_lookup',
      columns: [
        'id',
        'queue_name',
        'partition_id',
        'last_message_id',
        'last_message_created_at',
        'updated_at',
      ],
    },
  ],
  indexes: [
    { name: 'partition_lookup_pkey', table: 'partition_lookup' },
    { name: 'partition_lookup_queue_name_partition_id_key', table: 'partition_lookup' },
    { name: 'partition_lookup_partition_id_idx', table: 'partition_lookup' },
  ],
  functions: [{ name: 'update_partition_lookup_trigger', body: TRIGGER_FUNCTION_BODY }],
  triggers: [
    {
      name: 'trg_update_partition_lookup',
      table: 'messages',
      timing: 'AFTER',
      level: 'STATEMENT',
      events: ['INSERT'],
      function: 'update_partition_lookup_trigger',
      newTable: true,
    },
  ],
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  // Indexes, each one justified (every extra index costs every trigger upsert):
  // - UNIQUE (queue_name, partition_id): the upsert's conflict target, and Queen's pop query
  //   filters by queue_name. Neither column is ever updated, so lookup updates stay HOT.
  // - (partition_id): ON DELETE CASCADE from partitions and per-partition probes (check, resync)
  //   would otherwise scan the table. Also never updated.
  // - No index on last_message_created_at: Queen's made every update non-HOT (600x bloat).
  // fillfactor 70 leaves room on each page for HOT updates of the hot rows.
  // queue_name follows a renamed queue (ON UPDATE CASCADE) instead of blocking the rename.
  // When Queen's own partition_lookup exists it is adopted in place (src/families/lookup/adopt.ts).
  //
  // messages first: a push holds messages and then, in the triggers, writes partition_lookup
  // and partitions; taking those first (FK, index, reshape) and messages last would deadlock
  // with it. Writers that take partitions or queues first (a new partition, then its first
  // messages) would still deadlock with this order, so the foreign keys' locks on queues and
  // partitions are then taken without ever making the writer the victim (lockOrder.ts).
  pgm.sql('LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE');
  for (const sql of lockWithoutDeadlockSql([
    ['queues', 'SHARE ROW EXCLUSIVE'],
    ['partitions', 'SHARE ROW EXCLUSIVE'],
  ]))
    pgm.sql(sql);
  for (const sql of adoptUpSql(ctx.schema)) pgm.sql(sql);
  pgm.sql(`
CREATE OR REPLACE FUNCTION update_partition_lookup_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$${TRIGGER_FUNCTION_BODY}$fn$`);
  // OR REPLACE: Queen's trigger (if any) becomes dbops' in one step, never a moment without one.
  pgm.sql(`
CREATE OR REPLACE TRIGGER trg_update_partition_lookup
AFTER INSERT ON messages
REFERENCING NEW TABLE AS new_messages
FOR EACH STATEMENT EXECUTE FUNCTION update_partition_lookup_trigger()`);
}

export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  // Queen's trigger, function and table shape come back as they were; what dbops created goes
  // (trigger first, so no insert can call a function that no longer exists).
  // Dropping the table drops its foreign keys' triggers on queues and partitions: ACCESS
  // EXCLUSIVE there, which conflicts with every reader. partitions first: a push that reads its
  // partition before inserting then queues on it holding nothing; messages (and queues) next,
  // without ever making a writer the deadlock victim (lockOrder.ts). With messages first, the
  // chaos suite's pushes made this down give up after every retry.
  pgm.sql('LOCK TABLE partitions IN ACCESS EXCLUSIVE MODE');
  for (const sql of lockWithoutDeadlockSql([
    ['queues', 'ACCESS EXCLUSIVE'],
    ['messages', 'SHARE ROW EXCLUSIVE'],
  ]))
    pgm.sql(sql);
  for (const sql of adoptDownSql(ctx.schema)) pgm.sql(sql);
}

import type pg from 'pg';
import type { BatchOutcome, ResyncCounts, ResyncTarget } from '../../resync/types.js';

/**
 * queen.partition_lookup from queen.messages. Repairs missing rows, rows behind, rows ahead
 * (naming a deleted or non-newest message), rows for partitions without messages, and rows with
 * a queue_name that is not the partition's queue. "Newest" is by (created_at, id); messages with
 * NULL created_at are ignored, as in the trigger.
 *
 * Safe with live writers. Each batch of partitions (id order) is one transaction:
 * 1. LOCK_BATCH finds the batch's drifted partitions (lookup rows that differ from the newest
 *    message in the statement's snapshot, missing, extra or naming another queue) and takes the
 *    row lock of their (queue, partition) lookup rows in partition_id order with the trigger's
 *    own upsert (DO UPDATE ... WHERE false locks without writing), inserting a placeholder where
 *    a row is missing. Same statement shape and order as the trigger, so a trigger and a batch
 *    cannot deadlock; a trigger that needs one of these rows now waits for this batch. Before
 *    that, the drifted partitions themselves are locked FOR KEY SHARE (id order, the order a
 *    retention DELETE of a partition locks it and then its lookup row): a partition deleted
 *    after the statement's snapshot is skipped instead of failing the placeholder's foreign key
 *    (found by the chaos suite: resync under Queen's retention deletes exited 2), and one being
 *    deleted waits for this batch.
    In sync means: exactly one row, for the partition's queue, naming the newest message, or no
    row and no message. The batch's rows come from one index range scan over its partition_id
    range (as a plain join the planner hashed the whole lookup table once per batch; probing
    each partition's own and other-queue rows cost two index probes per partition). A partition
    is drifted when any of its (partition, row) pairs is: a row without a message or a message
    without a row, a row for another queue (a second row always is one: (queue_name,
    partition_id) is unique), or a row naming another message. Judged per pair, then DISTINCT
    over the few drifted ones: grouping every partition of the batch by its wide key (the earlier
    shape) spilled to disk at 15,000 partitions and cost about a fifth of a single-batch run.
 *    Rows in sync are not locked (a lock is a heap write: locking every row made the resync 4x
 *    slower than the plain SQL rebuild). Skipping them is safe: a row equal to the truth in a
 *    snapshot stays equal, because every message committed after that snapshot went through the
 *    trigger, which only moves the row forward to that message.
 * 2. REPAIR_BATCH runs, for the drifted partitions, with a fresh snapshot taken after the locks:
 *    every message whose trigger already wrote is visible, so the truth it computes is never
 *    older than the row (a row that moved forward is not moved back); messages committed later
 *    advance the row after us. It writes only rows that differ, deletes placeholders of
 *    partitions without messages, and wrong-queue rows (which the trigger never touches).
 *
 * When one batch covers every partition (--batch-size >= partitions, or the default on a database
 * of at most 5,000 partitions), the run is SINGLE_PASS instead: partition_lookup locked against
 * writes, then one statement (about 0.6x the time of the lock + repair pair at 15,000
 * partitions; pushes wait for the whole pass).
 */
const LOCK_BATCH = `
WITH keys AS MATERIALIZED (
  SELECT p.id, p.queue_id FROM partitions p
   WHERE p.id > coalesce($1::uuid, '00000000-0000-0000-0000-000000000000')
   ORDER BY p.id
   LIMIT $2
), batch AS MATERIALIZED (
  SELECT k.id, q.name AS queue_name FROM keys k JOIN queues q ON q.id = k.queue_id
), lookup_rows AS MATERIALIZED (
  SELECT pl.partition_id, pl.queue_name, pl.last_message_id, pl.last_message_created_at
    FROM partition_lookup pl
   WHERE pl.partition_id > coalesce($1::uuid, '00000000-0000-0000-0000-000000000000')
     AND pl.partition_id <= (SELECT id FROM batch ORDER BY id DESC LIMIT 1)
), drifted AS MATERIALIZED (
  SELECT DISTINCT b.id, b.queue_name
    FROM batch b
    LEFT JOIN LATERAL (SELECT id, created_at FROM messages
                        WHERE partition_id = b.id AND created_at IS NOT NULL
                        ORDER BY created_at DESC, id DESC LIMIT 1) m ON true
    LEFT JOIN lookup_rows r ON r.partition_id = b.id
   WHERE (r.partition_id IS NULL) <> (m.id IS NULL)
      OR r.queue_name <> b.queue_name OR r.last_message_id <> m.id
      OR r.last_message_created_at <> m.created_at
), alive AS MATERIALIZED (
  SELECT p.id FROM partitions p WHERE p.id IN (SELECT id FROM drifted)
   ORDER BY p.id FOR KEY SHARE
), locked AS (
  INSERT INTO partition_lookup AS pl
         (queue_name, partition_id, last_message_id, last_message_created_at, updated_at)
  SELECT d.queue_name, d.id, '00000000-0000-0000-0000-000000000000', '-infinity', now()
    FROM drifted d JOIN alive a ON a.id = d.id ORDER BY d.id
  ON CONFLICT (queue_name, partition_id) DO UPDATE SET updated_at = pl.updated_at WHERE false
  RETURNING partition_id::text || ' ' || queue_name AS row_key
)
SELECT (SELECT id::text FROM batch ORDER BY id DESC LIMIT 1) AS last,
       (SELECT count(*) FROM batch)::int AS keys,
       coalesce((SELECT array_agg(id::text ORDER BY id) FROM drifted), '{}') AS ids,
       coalesce((SELECT array_agg(row_key) FROM locked), '{}') AS placeholders`;

/**
 * Each partition's newest message (by created_at, then id) with its queue name: the truth every
 * repair and count compares partition_lookup with. `lateral` is LEFT JOIN (partitions without a
 * message get NULL message columns) or CROSS JOIN (they are left out); `where` filters partitions.
 */
function newestPerPartition(lateral: 'LEFT JOIN' | 'CROSS JOIN', where = ''): string {
  return `SELECT p.id AS partition_id, q.name AS queue_name, m.id AS message_id, m.created_at
    FROM partitions p
    JOIN queues q ON q.id = p.queue_id
    ${lateral} LATERAL (SELECT id, created_at FROM messages
                        WHERE partition_id = p.id AND created_at IS NOT NULL
                        ORDER BY created_at DESC, id DESC LIMIT 1) m${lateral === 'LEFT JOIN' ? ' ON true' : ''}${
                          where
                            ? `
   ${where}`
                            : ''
                        }`;
}

// partition_id = ANY ($1) on the lookup side too: with only the join condition, a batch of a few
// hundred drifted partitions made the planner scan the whole lookup table for the UPDATE/DELETE.
const REPAIR_BATCH = `
WITH truth AS MATERIALIZED (
  ${newestPerPartition('LEFT JOIN', 'WHERE p.id = ANY ($1::uuid[])')}
), updated AS (
  UPDATE partition_lookup pl
     SET last_message_id = t.message_id, last_message_created_at = t.created_at, updated_at = now()
    FROM truth t
   WHERE pl.partition_id = ANY ($1::uuid[])
     AND pl.partition_id = t.partition_id AND pl.queue_name = t.queue_name
     AND t.message_id IS NOT NULL
     AND (pl.last_message_id, pl.last_message_created_at) IS DISTINCT FROM (t.message_id, t.created_at)
  RETURNING pl.partition_id::text || ' ' || pl.queue_name AS row_key
), deleted AS (
  DELETE FROM partition_lookup pl
   USING truth t
   WHERE pl.partition_id = ANY ($1::uuid[])
     AND pl.partition_id = t.partition_id
     AND (t.message_id IS NULL OR pl.queue_name <> t.queue_name)
  RETURNING pl.partition_id::text || ' ' || pl.queue_name AS row_key
)
SELECT coalesce((SELECT array_agg(row_key) FROM updated), '{}') AS updated,
       coalesce((SELECT array_agg(row_key) FROM deleted), '{}') AS deleted`;

/**
 * The whole job in one statement, for a run whose one batch covers every partition (--batch-size
 * at least the number of partitions): the same repair as LOCK_BATCH + REPAIR_BATCH, but with
 * partition_lookup locked against writes first (SHARE ROW EXCLUSIVE, taken in the same
 * transaction just before), so one snapshot is the truth: every message whose trigger wrote has
 * committed and is visible, and every later message's trigger waits for this transaction and
 * then moves its row forward. Pushes into any partition wait for the pass (a few hundred ms at
 * 1,000,000 messages), as they would for a single batch that drifted everywhere; reads of the
 * table do not. Writes only rows that differ; also deletes rows of partitions that are gone.
 */
const SINGLE_PASS = `
WITH truth AS MATERIALIZED (
  ${newestPerPartition('CROSS JOIN')}
), deleted AS (
  DELETE FROM partition_lookup pl
   WHERE NOT EXISTS (SELECT 1 FROM truth t
                      WHERE t.partition_id = pl.partition_id AND t.queue_name = pl.queue_name)
  RETURNING 1
), updated AS (
  UPDATE partition_lookup pl
     SET last_message_id = t.message_id, last_message_created_at = t.created_at, updated_at = now()
    FROM truth t
   WHERE pl.partition_id = t.partition_id AND pl.queue_name = t.queue_name
     AND (pl.last_message_id, pl.last_message_created_at) IS DISTINCT FROM (t.message_id, t.created_at)
  RETURNING 1
), inserted AS (
  INSERT INTO partition_lookup
         (queue_name, partition_id, last_message_id, last_message_created_at, updated_at)
  SELECT t.queue_name, t.partition_id, t.message_id, t.created_at, now()
    FROM truth t
   WHERE NOT EXISTS (SELECT 1 FROM partition_lookup pl
                      WHERE pl.partition_id = t.partition_id AND pl.queue_name = t.queue_name)
   ORDER BY t.partition_id
  RETURNING 1
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted,
       (SELECT count(*) FROM updated)::int AS updated,
       (SELECT count(*) FROM deleted)::int AS deleted`;

/** For the rest of the pass's transaction: lock_timeout of half deadlock_timeout. */
const SINGLE_PASS_LOCK_TIMEOUT = `
SELECT set_config('lock_timeout',
                  greatest(1, (extract(epoch FROM current_setting('deadlock_timeout')::interval) * 500)::int) || 'ms',
                  true)`;

/** Lookup rows whose partition no longer exists (possible only with the FK disabled or dropped). */
const DELETE_ORPHANS = `
DELETE FROM partition_lookup pl
 WHERE NOT EXISTS (SELECT 1 FROM partitions p JOIN queues q ON q.id = p.queue_id WHERE p.id = pl.partition_id)`;

/** What a run would do, classified per lookup row / partition, read-only. */
const COUNT_DRIFT = `
WITH truth AS (
  ${newestPerPartition('LEFT JOIN')}
)
SELECT
  (SELECT count(*) FROM truth t
    WHERE t.message_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM partition_lookup pl
                       WHERE pl.partition_id = t.partition_id AND pl.queue_name = t.queue_name))::int AS inserted,
  (SELECT count(*) FROM truth t JOIN partition_lookup pl
       ON pl.partition_id = t.partition_id AND pl.queue_name = t.queue_name
    WHERE t.message_id IS NOT NULL
      AND (pl.last_message_id, pl.last_message_created_at) IS DISTINCT FROM (t.message_id, t.created_at))::int AS updated,
  (SELECT count(*) FROM partition_lookup pl LEFT JOIN truth t ON t.partition_id = pl.partition_id
    WHERE t.partition_id IS NULL OR t.message_id IS NULL OR pl.queue_name <> t.queue_name)::int AS deleted`;

/** Sessions whose current run was done by SINGLE_PASS (finish has nothing left to do). */
const singlePassDone = new WeakSet<pg.ClientBase>();

async function countPartitions(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM partitions');
  return rows[0]?.n ?? 0;
}

export const partitionLookupTarget: ResyncTarget = {
  name: 'partition-lookup',
  family: 'lookup',
  title: 'queen.partition_lookup from queen.messages',
  // 5,000 partitions per batch: at 50,000 partitions, batches of 1,000 cost 1.3-1.5x the work of
  // batches of 5,000 (per-batch statements, probes restarted per batch); a batch of 5,000 holds
  // its drifted rows' locks for some tens of ms.
  defaultBatchSize: 5000,

  totalKeys: countPartitions,

  async countDrift(client): Promise<ResyncCounts> {
    const { rows } = await client.query<ResyncCounts>(COUNT_DRIFT);
    return rows[0]!;
  },

  // Both statements are prepared once per session (named): planning them on every batch was
  // 10-30% of a batch. Their generic plans have the same index-driven shape as custom ones.
  async repairBatch(client, cursor, batchSize): Promise<BatchOutcome> {
    if (cursor === null) {
      const keys = await countPartitions(client);
      if (batchSize >= keys) {
        await client.query('LOCK TABLE partition_lookup IN SHARE ROW EXCLUSIVE MODE');
        // The pass's own row waits (the foreign key checks of the rows it inserts, on partitions
        // and queues) give up at half deadlock_timeout and the pass is retried: a writer deleting
        // a partition holds its row and waits for this table lock in its cascade, and must not be
        // the one PostgreSQL's deadlock check aborts (as in lockOrder.ts).
        await client.query(SINGLE_PASS_LOCK_TIMEOUT);
        const { rows } = await client.query<ResyncCounts>(SINGLE_PASS);
        singlePassDone.add(client);
        return { next: null, keys, ...rows[0]! };
      }
    }
    const locked = await client.query<{
      last: string | null;
      keys: number;
      ids: string[];
      placeholders: string[];
    }>({ name: 'dbops-resync-lookup-lock', text: LOCK_BATCH, values: [cursor, batchSize] });
    const { last, keys, ids } = locked.rows[0]!;
    const next = keys < batchSize ? null : last;
    if (ids.length === 0) return { next, keys, inserted: 0, updated: 0, deleted: 0 };
    const placeholders = new Set(locked.rows[0]!.placeholders);
    const { rows } = await client.query<{ updated: string[]; deleted: string[] }>({
      name: 'dbops-resync-lookup-repair',
      text: REPAIR_BATCH,
      values: [ids],
    });
    const r = rows[0]!;
    // Rows are keyed "partition_id queue_name". A placeholder that got real values is an
    // insert; one deleted again (partition without messages) was never there.
    const filled = r.updated.filter((key) => placeholders.has(key)).length;
    const dropped = r.deleted.filter((key) => placeholders.has(key)).length;
    return {
      next,
      keys,
      inserted: filled,
      updated: r.updated.length - filled,
      deleted: r.deleted.length - dropped,
    };
  },

  async finish(client): Promise<ResyncCounts> {
    // The single pass deleted them already (rows with no truth), under its table lock.
    if (singlePassDone.delete(client)) return { inserted: 0, updated: 0, deleted: 0 };
    const { rowCount } = await client.query(DELETE_ORPHANS);
    return { inserted: 0, updated: 0, deleted: rowCount ?? 0 };
  },
};

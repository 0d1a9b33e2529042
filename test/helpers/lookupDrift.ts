import type pg from 'pg';

/** Exactly how many rows of each drift kind `corruptLookup` creates. */
export const CORRUPTION = { missing: 8, behind: 7, ahead: 5, orphaned: 5 } as const;
/** What `resync partition-lookup` must do about it. */
export const REPAIR = { inserted: 8, updated: 12, deleted: 5 } as const;

let corruptions = 0;

/**
 * Corrupts queen.partition_lookup in every way the checks and the resync know, on disjoint
 * partitions, with the trigger disabled (as a bulk load would), and returns the partition ids
 * per kind (sorted, as check samples are):
 * - behind 7: newer messages inserted without the trigger;
 * - ahead 4 + 1: the newest message deleted; one row moved into the future by hand;
 * - missing 5: lookup rows deleted;
 * - wrong queue 3: queue_name changed to another queue (3 missing + 3 orphaned);
 * - orphaned 2: every message of the partition deleted.
 */
export async function corruptLookup(
  client: pg.ClientBase,
): Promise<Record<keyof typeof CORRUPTION, string[]>> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT pl.partition_id::text AS id FROM queen.partition_lookup pl
      WHERE (SELECT count(*) FROM queen.messages m WHERE m.partition_id = pl.partition_id) BETWEEN 2 AND 50
      ORDER BY pl.partition_id LIMIT 22`,
  );
  const ids = rows.map((r) => r.id);
  if (ids.length < 22) throw new Error('fixture too small for corruptLookup');
  const take = (n: number) => ids.splice(0, n);
  const behind = take(7);
  const ahead = take(4);
  const future = take(1);
  const missing = take(5);
  const wrongQueue = take(3);
  const empty = take(2);
  await client.query('ALTER TABLE queen.messages DISABLE TRIGGER trg_update_partition_lookup');
  // Each call a day later than the last: a partition made "behind" by an earlier call already
  // has a 2031 message, and a second one at the same instant is the newest only if its random
  // id sorts higher (that made the exact counts flaky).
  corruptions += 1;
  await client.query(
    `INSERT INTO queen.messages (transaction_id, partition_id, payload, created_at)
     SELECT 'drift-' || gen_random_uuid(), p::uuid, '{}', '2031-01-01'::timestamptz + $2 * interval '1 day'
       FROM unnest($1::text[]) p`,
    [behind, corruptions],
  );
  await client.query(
    `DELETE FROM queen.messages WHERE id IN (SELECT last_message_id FROM queen.partition_lookup WHERE partition_id = ANY ($1::uuid[]))`,
    [ahead],
  );
  await client.query(
    `UPDATE queen.partition_lookup SET last_message_created_at = '2040-01-01' WHERE partition_id = ANY ($1::uuid[])`,
    [future],
  );
  await client.query('DELETE FROM queen.partition_lookup WHERE partition_id = ANY ($1::uuid[])', [
    missing,
  ]);
  await client.query(
    `UPDATE queen.partition_lookup pl SET queue_name = (SELECT name FROM queen.queues q WHERE q.name <> pl.queue_name ORDER BY name LIMIT 1)
      WHERE partition_id = ANY ($1::uuid[])`,
    [wrongQueue],
  );
  await client.query('DELETE FROM queen.messages WHERE partition_id = ANY ($1::uuid[])', [empty]);
  await client.query('ALTER TABLE queen.messages ENABLE TRIGGER trg_update_partition_lookup');
  const sorted = (list: string[]) => [...list].sort();
  return {
    missing: sorted([...missing, ...wrongQueue]),
    behind: sorted(behind),
    ahead: sorted([...ahead, ...future]),
    orphaned: sorted([...wrongQueue, ...empty]),
  };
}

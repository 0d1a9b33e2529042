import type pg from 'pg';

/** Exactly how many offending rows of each check `corruptCheckpoints` creates. */
export const CORRUPTION = {
  'ready-missing': 4,
  'ready-extra': 8,
  'reserved-missing': 5,
  'reserved-extra': 3,
  both: 2,
} as const;
/** What `resync checkpoints` must do about it. */
export const REPAIR = { inserted: 9, updated: 3, deleted: 8 } as const;

/**
 * Corrupts the hot tables in every way the checks and the resync know, on disjoint checkpoints,
 * partly by hand and partly with the update trigger disabled (as a bulk load would), and returns
 * the offending keys per check (sorted as text, as check samples are):
 * - ready-missing 4: ready rows deleted;
 * - ready-extra 8: 2 ready rows with a wrong process_at, 2 ready rows for caught-up checkpoints,
 *   2 ready rows added to reserved checkpoints (also `both`), 2 checkpoints reserved with the
 *   trigger disabled (their ready row stays; also reserved-missing);
 * - reserved-missing 5: 3 reserved rows deleted, plus the 2 reserved behind the trigger's back;
 * - reserved-extra 3: 2 reserved rows for caught-up checkpoints, 1 with a wrong reserved_until.
 */
export async function corruptCheckpoints(
  client: pg.ClientBase,
): Promise<Record<keyof typeof CORRUPTION, string[]>> {
  const ids = async (where: string, n: number) => {
    const { rows } = await client.query<{ id: string }>(
      `SELECT c.id::text AS id FROM beckett.checkpoints c WHERE ${where} ORDER BY c.id LIMIT $1`,
      [n],
    );
    if (rows.length < n) throw new Error(`fixture too small for corruptCheckpoints: ${where}`);
    return rows.map((r) => r.id);
  };
  const ready = await ids(
    'EXISTS (SELECT 1 FROM beckett.checkpoints_ready r WHERE r.id = c.id)',
    8,
  );
  const caughtUp = await ids(
    `c.status = 'active' AND NOT c.lagging AND c.process_at IS NULL AND c.reserved_until IS NULL`,
    4,
  );
  const reserved = await ids('c.reserved_until IS NOT NULL', 6);
  const [readyMissing, wrongAt, behindTrigger] = [
    ready.slice(0, 4),
    ready.slice(4, 6),
    ready.slice(6),
  ];
  const [caughtUpReady, caughtUpReserved] = [caughtUp.slice(0, 2), caughtUp.slice(2)];
  const [reservedMissing, wrongUntil, reservedAndReady] = [
    reserved.slice(0, 3),
    reserved.slice(3, 4),
    reserved.slice(4),
  ];
  const q = (sql: string, list: string[]) => client.query(sql, [list]);
  await q('DELETE FROM beckett.checkpoints_ready WHERE id = ANY ($1::bigint[])', readyMissing);
  await q(
    `UPDATE beckett.checkpoints_ready SET process_at = process_at + interval '1 hour' WHERE id = ANY ($1::bigint[])`,
    wrongAt,
  );
  await q(
    `INSERT INTO beckett.checkpoints_ready (id, process_at) SELECT id, now() FROM unnest($1::bigint[]) id`,
    [...caughtUpReady, ...reservedAndReady],
  );
  await q(
    `INSERT INTO beckett.checkpoints_reserved (id, reserved_until) SELECT id, now() + interval '1 hour' FROM unnest($1::bigint[]) id`,
    caughtUpReserved,
  );
  await q(
    'DELETE FROM beckett.checkpoints_reserved WHERE id = ANY ($1::bigint[])',
    reservedMissing,
  );
  await q(
    `UPDATE beckett.checkpoints_reserved SET reserved_until = reserved_until + interval '1 minute' WHERE id = ANY ($1::bigint[])`,
    wrongUntil,
  );
  await client.query(
    'ALTER TABLE beckett.checkpoints DISABLE TRIGGER checkpoint_hot_tables_update',
  );
  await q(
    `UPDATE beckett.checkpoints SET reserved_until = now() + interval '1 hour' WHERE id = ANY ($1::bigint[])`,
    behindTrigger,
  );
  await client.query('ALTER TABLE beckett.checkpoints ENABLE TRIGGER checkpoint_hot_tables_update');
  const sorted = (list: string[]) => [...list].sort();
  return {
    'ready-missing': sorted(readyMissing),
    'ready-extra': sorted([...wrongAt, ...caughtUpReady, ...reservedAndReady, ...behindTrigger]),
    'reserved-missing': sorted([...reservedMissing, ...behindTrigger]),
    'reserved-extra': sorted([...caughtUpReserved, ...wrongUntil]),
    both: sorted(reservedAndReady),
  };
}

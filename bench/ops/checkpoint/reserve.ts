/**
 * Concurrent reservation workers, shared by the `checkpoint.reserve` bench operation and the
 * standalone bench/checkpoint-reserve.ts: `clients` run one reserve statement as fast as they
 * can, each on its own connection, and every reserved id is collected so doubles (a checkpoint
 * handed out twice) and reservations of checkpoints that were not due can be counted.
 */
import type pg from 'pg';

/** The group the bench data puts every subscription in. */
export const GROUP = 'group-1';
/** Bench reservations last a week; seeded in-flight ones end within 25 hours. */
export const RESERVE_FOR = '7 days';

/** Due and unreserved in the group's active subscriptions: what a drain may take, each once. */
export const DUE_SQL = `
SELECT c.id FROM beckett.checkpoints c
  JOIN beckett.subscriptions s ON s.id = c.subscription_id
  JOIN beckett.subscription_groups g ON g.id = s.subscription_group_id
 WHERE g.name = $1 AND s.status IN ('active', 'replay')
   AND c.process_at <= now() AND c.reserved_until IS NULL`;

/** Undoes the bench's reservations (through the trigger when it is enabled: ready rows return). */
export const UNDO_RESERVATIONS_SQL = `
UPDATE beckett.checkpoints SET reserved_until = NULL WHERE reserved_until > now() + interval '3 days'`;

export interface Reservations {
  ids: string[];
  ms: number;
  /** A worker found nothing to reserve. */
  drained: boolean;
}

/**
 * Reserves with `sql` ($1 group, $2 length) on every client at once until `count` reservations
 * were asked for or `seconds` passed, whichever comes first, or nothing is left to reserve.
 */
export async function reserveConcurrently(
  clients: pg.Client[],
  sql: string,
  stop: { count?: number; seconds?: number },
): Promise<Reservations> {
  const ids: string[] = [];
  let asked = 0;
  let drained = false;
  const started = performance.now();
  const deadline = started + (stop.seconds ?? Number.POSITIVE_INFINITY) * 1000;
  const limit = stop.count ?? Number.POSITIVE_INFINITY;
  await Promise.all(
    clients.map(async (c) => {
      while (!drained && asked < limit && performance.now() < deadline) {
        asked++;
        const { rows } = await c.query(sql, [GROUP, RESERVE_FOR]);
        if (rows[0]) ids.push(String(rows[0].id));
        else drained = true;
      }
    }),
  );
  return { ids, ms: performance.now() - started, drained };
}

/** Throughput and correctness of one run: doubles and not-due reservations must be 0. */
export type ReservationStats = {
  reservations: number;
  perSecond: number;
  doubles: number;
  notDue: number;
};

export function reservationStats(run: Reservations, due: Set<string>): ReservationStats {
  return {
    reservations: run.ids.length,
    perSecond: Math.round(run.ids.length / (run.ms / 1000)),
    doubles: run.ids.length - new Set(run.ids).size,
    notDue: run.ids.filter((id) => !due.has(id)).length,
  };
}

/** The ids `DUE_SQL` returns now. */
export async function dueIds(client: pg.ClientBase): Promise<Set<string>> {
  const { rows } = await client.query(DUE_SQL, [GROUP]);
  return new Set(rows.map((r) => String(r.id)));
}

/** What the workers waited on and what each reservation wrote, sampled during a run. */
export type ReservationCost = {
  /** Share of the workers in each state (wait event, else the session state), over the samples. */
  waits: Record<string, number>;
  /** Row versions written per reservation in the schema (inserted, updated, deleted). */
  rowsPerReservation: { inserted: number; updated: number; deleted: number };
  /** WAL bytes per reservation (full-page images after a checkpoint included). */
  walBytesPerReservation: number;
};

const TABLE_WRITES = `
SELECT sum(n_tup_ins)::float8 AS inserted, sum(n_tup_upd)::float8 AS updated,
       sum(n_tup_del)::float8 AS deleted
  FROM pg_stat_user_tables WHERE schemaname = 'beckett'`;

/**
 * Runs `run` while `admin` samples the workers' pg_stat_activity every 20 ms, and reads the
 * schema's row counters and the WAL position around it (each worker flushes its row counters
 * first: pg_stat_force_next_flush(), PostgreSQL 15 and later).
 */
export async function withReservationCost(
  admin: pg.ClientBase,
  clients: pg.Client[],
  run: () => Promise<Reservations>,
): Promise<{ run: Reservations; cost: ReservationCost }> {
  const pids = await Promise.all(
    clients.map(async (c) => (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p as number),
  );
  const flush = async () => {
    await Promise.all(clients.map((c) => c.query('SELECT pg_stat_force_next_flush()')));
    await new Promise((r) => setTimeout(r, 100));
  };
  await flush();
  const before = (await admin.query(TABLE_WRITES)).rows[0];
  const lsn = (await admin.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
  const counts: Record<string, number> = {};
  let samples = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const { rows } = await admin.query(
        `SELECT coalesce(wait_event_type || ':' || wait_event, state) AS w
           FROM pg_stat_activity WHERE pid = ANY ($1)`,
        [pids],
      );
      for (const { w } of rows) counts[w] = (counts[w] ?? 0) + 1;
      samples++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await run();
  done = true;
  await sampler;
  const wal = (
    await admin.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::float8 AS b', [lsn])
  ).rows[0].b;
  await flush();
  const after = (await admin.query(TABLE_WRITES)).rows[0];
  const n = Math.max(1, result.ids.length);
  const per = (k: string) => Number(((after[k] - before[k]) / n).toFixed(2));
  const waits = Object.fromEntries(
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, Number((v / Math.max(1, samples) / clients.length).toFixed(2))]),
  );
  return {
    run: result,
    cost: {
      waits,
      rowsPerReservation: {
        inserted: per('inserted'),
        updated: per('updated'),
        deleted: per('deleted'),
      },
      walBytesPerReservation: Math.round(wal / n),
    },
  };
}

/**
 * Reserve throughput of concurrent workers taking due checkpoints of one Beckett group: the
 * single-table baseline from PERF-NOTES (`UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP
 * LOCKED LIMIT 1)` on checkpoints, Beckett 0.22's reserve), on Beckett 0.22's indexes and with a
 * partial index on process_at (the best single-table shape), against the checkpoint family's
 * `checkpoint_reserve_next` on the hot tables. Three databases are seeded identically; the last
 * gets `migrate up checkpoint`. Rounds alternate between them so load drift on a shared machine
 * hits all alike; each round reserves for `seconds` (the queue never runs dry) and is undone.
 * Reported: medians, double reservations (a checkpoint handed out twice within a round),
 * reservations of checkpoints that were not due, and per round what the workers waited on
 * (pg_stat_activity sampled every 20 ms), row versions and WAL bytes written per reservation.
 *
 *   npm run build && node dist/bench/checkpoint-reserve.js [checkpoints=200000] [readyShare=0.1] [seconds=10] [rounds=3] [workers=8]
 */
import type pg from 'pg';
import { beckettBaseSchemaSql, seedBeckett } from '../src/families/checkpoint/fixture.js';
import { dbopsOrThrow } from './lib/cli.js';
import { type BenchDatabase, createBenchDatabase } from './lib/db.js';
import {
  HOT_RESERVE_SQL,
  SINGLE_TABLE_INDEX_SQL,
  SINGLE_TABLE_RESERVE_SQL,
} from './ops/checkpoint/baselines.js';
import {
  dueIds,
  type ReservationCost,
  type ReservationStats,
  reservationStats,
  reserveConcurrently,
  UNDO_RESERVATIONS_SQL,
  withReservationCost,
} from './ops/checkpoint/reserve.js';

const checkpoints = Number(process.argv[2] ?? 200_000);
const readyShare = Number(process.argv[3] ?? 0.1);
const seconds = Number(process.argv[4] ?? 10);
const rounds = Number(process.argv[5] ?? 3);
const workers = Number(process.argv[6] ?? 8);

type Round = ReservationStats & { cost: ReservationCost };

/** `clients` reserve as fast as they can for `seconds`; then the round's reservations are undone. */
async function round(
  db: BenchDatabase,
  clients: pg.Client[],
  reserveSql: string,
  due: Set<string>,
): Promise<Round> {
  const { run, cost } = await withReservationCost(db.client, clients, () =>
    reserveConcurrently(clients, reserveSql, { seconds }),
  );
  await db.client.query(UNDO_RESERVATIONS_SQL);
  await db.client.query('VACUUM ANALYZE beckett.checkpoints');
  if (await hasHotTables(db))
    await db.client.query('VACUUM ANALYZE beckett.checkpoints_ready, beckett.checkpoints_reserved');
  return { ...reservationStats(run, due), cost };
}

async function hasHotTables(db: BenchDatabase): Promise<boolean> {
  const { rows } = await db.client.query(`SELECT to_regclass('beckett.checkpoints_ready') AS t`);
  return rows[0].t !== null;
}

function summary(runs: Round[]) {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  return {
    medianPerSecond: sorted[Math.floor(sorted.length / 2)]!.perSecond,
    perSecondByRound: runs.map((r) => r.perSecond),
    reservationsByRound: runs.map((r) => r.reservations),
    doubleReservations: runs.reduce((n, r) => n + r.doubles, 0),
    reservedNotDue: runs.reduce((n, r) => n + r.notDue, 0),
    costByRound: runs.map((r) => r.cost),
  };
}

/** A bench database with the Beckett base schema and the workload's data. */
async function seeded(label: string): Promise<BenchDatabase> {
  const db = await createBenchDatabase(label);
  await db.client.query(beckettBaseSchemaSql());
  // One group, every subscription active: the PERF-NOTES workload. (The hot table has no group
  // column: other groups' due rows are walked by every reserve; see the README.)
  await seedBeckett(db.client, {
    groups: 1,
    subscriptions: 20,
    checkpoints,
    readyShare,
    pauseOne: false,
  });
  await db.client.query('VACUUM ANALYZE');
  return db;
}

const connectAll = (db: BenchDatabase) =>
  Promise.all(Array.from({ length: workers }, () => db.connect()));

/** One side of the comparison: its own database, prepared, and the reserve statement it runs. */
interface Contender {
  name: string;
  db: BenchDatabase;
  sql: string;
  clients: pg.Client[];
  rounds: Round[];
}

async function contender(
  name: string,
  sql: string,
  prepare: (db: BenchDatabase) => Promise<void>,
): Promise<Contender> {
  const db = await seeded(name);
  await prepare(db);
  return { name, db, sql, clients: await connectAll(db), rounds: [] };
}

const contenders: Contender[] = [];
try {
  // Beckett 0.22 as it is: its reserve query and its indexes on checkpoints.
  contenders.push(await contender('beckett_0_22', SINGLE_TABLE_RESERVE_SQL, async () => {}));
  // The best single-table shape: the same query with an index that walks due rows in order.
  contenders.push(
    await contender('single_table_indexed', SINGLE_TABLE_RESERVE_SQL, async (db) => {
      await db.client.query(SINGLE_TABLE_INDEX_SQL);
      await db.client.query('ANALYZE beckett.checkpoints');
    }),
  );
  let migrateUpMs = 0;
  contenders.push(
    await contender('hot_tables', HOT_RESERVE_SQL, async (db) => {
      const up = await dbopsOrThrow(db.url, 'migrate', 'up', 'checkpoint');
      migrateUpMs = up.ms;
    }),
  );
  const dueSets = await Promise.all(contenders.map((c) => dueIds(c.db.client)));
  const due = dueSets[0]!;
  if (dueSets.some((d) => d.size !== due.size || [...d].some((id) => !due.has(id))))
    throw new Error('the databases were not seeded identically');
  console.log(
    `seeded 3 x ${checkpoints} checkpoints (${due.size} due); migrate up ${migrateUpMs} ms`,
  );

  for (let i = 0; i < rounds; i++) {
    for (const c of contenders) c.rounds.push(await round(c.db, c.clients, c.sql, due));
    console.log(
      `round ${i + 1}: ${contenders.map((c) => `${c.name} ${c.rounds.at(-1)!.perSecond}/s`).join(', ')}`,
    );
  }
  const results = Object.fromEntries(contenders.map((c) => [c.name, summary(c.rounds)]));
  const median = (name: string) => results[name]!.medianPerSecond;
  console.log(
    JSON.stringify(
      {
        checkpoints,
        readyShare,
        dueInGroup: due.size,
        workers,
        secondsPerRound: seconds,
        migrateUpMs,
        ...results,
        hotOverBeckett022: Number((median('hot_tables') / median('beckett_0_22')).toFixed(2)),
        hotOverSingleTableIndexed: Number(
          (median('hot_tables') / median('single_table_indexed')).toFixed(2),
        ),
      },
      null,
      2,
    ),
  );
} finally {
  for (const c of contenders) {
    await Promise.all(c.clients.map((cl) => cl.end().catch(() => {})));
    await c.db.drop();
  }
}

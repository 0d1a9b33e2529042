/**
 * The checkpoint family's operations: `resync checkpoints` (repairing drift, and rebuilding
 * emptied hot tables), `check consistency checkpoint` and reservation throughput (8 concurrent
 * workers, the family's checkpoint_reserve_next on the hot tables against the best
 * checkpoints-only SKIP LOCKED reservation), each against the best hand-written SQL
 * (./checkpoint/baselines.ts).
 *
 * Data: `rows` checkpoints over 20 active subscriptions of one group, 10% ready (seedBeckett:
 * every checkpoint state represented), then `migrate up checkpoint`.
 */
import { beckettBaseSchemaSql, seedBeckett } from '../../src/families/checkpoint/fixture.js';
import { dbopsOrThrow } from '../lib/cli.js';
import { batchedResyncNote, checkNote } from '../lib/notes.js';
import { checkCounts, expectCounts, resyncNumbers } from '../lib/reports.js';
import type { BenchContext, BenchFamily, BenchOperation, RunOutput } from '../lib/types.js';
import {
  CHECK_SQL,
  HOT_DRIFT_SQL,
  HOT_RESERVE_SQL,
  RESYNC_SQL,
  SINGLE_TABLE_INDEX_SQL,
  SINGLE_TABLE_RESERVE_SQL,
} from './checkpoint/baselines.js';
import {
  type CheckpointDrift,
  driftModulus,
  emptyHotTables,
  makeDrift,
} from './checkpoint/drift.js';
import {
  dueIds,
  reservationStats,
  reserveConcurrently,
  UNDO_RESERVATIONS_SQL,
} from './checkpoint/reserve.js';

const WORKERS = 8;

/**
 * The resync's single-pass path: `--batch-size` at least the id span (the bench's ids are 1..rows,
 * plus the drift's orphans just past them), so the whole table is one batch, one transaction:
 * the same compare, locks and repair, with the locks held until the end.
 */
const ONE_BATCH = (rows: number) => ['--batch-size', String(2 * rows + 100)];

/** The default batches (50,000 ids) or the single-pass path. */
type Batching = typeof ONE_BATCH | null;

function batchArgs(rows: number, batching: Batching) {
  return batching ? batching(rows) : [];
}

function batchNote(batching: Batching, defaultShape: string): (s: number, b: number) => string {
  if (!batching) return batchedResyncNote(defaultShape);
  return (s, b) =>
    `${Math.round(s - b)} ms (${(s / b).toFixed(2)}x) more buys the row locks of the batched resync (each differing checkpoint locked FOR SHARE, so a writer committing meanwhile is never undone), in one batch: held until the end, and an interrupted run keeps nothing`;
}

const checkpoint: BenchFamily = {
  name: 'checkpoint',
  rowsLabel: 'checkpoints',
  async prepare(ctx) {
    ctx.log(`checkpoint: seeding ${ctx.rows} checkpoints`);
    await ctx.client.query(beckettBaseSchemaSql());
    await seedBeckett(ctx.client, {
      groups: 1,
      subscriptions: 20,
      checkpoints: ctx.rows,
      readyShare: 0.1,
      pauseOne: false,
    });
    await dbopsOrThrow(ctx.db.url, 'migrate', 'up', 'checkpoint');
    await ctx.client.query('VACUUM ANALYZE');
    return [
      check(ctx.rows),
      resync(ctx.rows),
      resync(ctx.rows, ONE_BATCH),
      rebuild(ctx.rows),
      rebuild(ctx.rows, ONE_BATCH),
      reserve(ctx.rows),
    ];
  },
};
export default checkpoint;

/** Hot tables equal to the truth (computed from the columns, not by the family's function). */
async function expectExact(ctx: BenchContext, what: string): Promise<void> {
  const { rows } = await ctx.client.query<{ differing: number }>(HOT_DRIFT_SQL);
  if (rows[0]!.differing !== 0)
    throw new Error(`${what}: ${rows[0]!.differing} hot rows differ from the truth`);
}

/** Drift made once; the expected counts are the drift's own, plus the seeded expired reservations. */
function check(rows: number): BenchOperation {
  let expected: Record<string, number>;
  return {
    id: 'checkpoint.check',
    title: 'check consistency checkpoint (6 findings) vs one counting query',
    units: { count: rows, label: 'checkpoints' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: ['check', 'consistency', 'checkpoint', '--format', 'json'],
      okCodes: [1],
    },
    baseline: { kind: 'sql', sql: CHECK_SQL },
    note: checkNote,
    async setup(ctx) {
      await expectExact(ctx, 'check setup');
      const drift: CheckpointDrift = await makeDrift(ctx.client, driftModulus(rows));
      const { rows: expired } = await ctx.client.query(
        'SELECT count(*)::int AS n FROM beckett.checkpoints WHERE reserved_until <= now()',
      );
      expected = { ...drift, expired: expired[0].n };
      const { both: _, ...mustOccur } = expected;
      if (Object.values(mustOccur).some((n) => n === 0))
        throw new Error(`check drift: ${JSON.stringify(expected)} (a finding kind is missing)`);
      await ctx.client.query(
        'VACUUM ANALYZE beckett.checkpoints_ready, beckett.checkpoints_reserved',
      );
    },
    async verify(_ctx, side, output) {
      expectCounts('check', side, checkCounts(side, output), expected);
    },
  };
}

/** The total of `dbops resync --format json` numbers: one repair per finding. */
function repairs(output: RunOutput): number {
  const n = resyncNumbers(output);
  return n.inserted + n.updated + n.deleted;
}

/** Before every run the same drift is made again (the hot tables are exact after each run). */
function resync(rows: number, batching: Batching = null): BenchOperation {
  let findings = 0;
  return {
    id: batching ? 'checkpoint.resync-one-batch' : 'checkpoint.resync',
    title: `resync checkpoints${batching ? ' --batch-size >= ids' : ''} (drift ~1% of checkpoints) vs one data-modifying statement`,
    units: { count: rows, label: 'checkpoints' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: ['resync', 'checkpoints', '--format', 'json', ...batchArgs(rows, batching)],
    },
    baseline: { kind: 'sql', sql: RESYNC_SQL },
    note: batchNote(batching, 'batches of 50,000 ids'),
    async setup(ctx) {
      await ctx.client.query(RESYNC_SQL); // undo the check's drift
      await expectExact(ctx, 'resync setup');
    },
    async reset(ctx) {
      const drift = await makeDrift(ctx.client, driftModulus(rows));
      findings =
        drift['ready-missing'] +
        drift['ready-extra'] +
        drift['reserved-missing'] +
        drift['reserved-extra'];
      await ctx.client.query(
        'VACUUM ANALYZE beckett.checkpoints_ready, beckett.checkpoints_reserved',
      );
    },
    async verify(ctx, side, output) {
      await expectExact(ctx, `resync (${side})`);
      if (side === 'subject' && repairs(output) !== findings)
        throw new Error(`resync: ${repairs(output)} rows repaired, expected ${findings}`);
    },
  };
}

/** Both hot tables emptied before every run: the resync writes every hot row. */
function rebuild(rows: number, batching: Batching = null): BenchOperation {
  return {
    id: batching ? 'checkpoint.rebuild-one-batch' : 'checkpoint.rebuild',
    title: `resync checkpoints${batching ? ' --batch-size >= ids' : ''} into emptied hot tables vs the same statement`,
    units: { count: rows, label: 'checkpoints' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: ['resync', 'checkpoints', '--format', 'json', ...batchArgs(rows, batching)],
    },
    baseline: { kind: 'sql', sql: RESYNC_SQL },
    note: batchNote(batching, 'batches of 50,000 ids that lock every checkpoint they write'),
    async reset(ctx) {
      await emptyHotTables(ctx.client);
      await ctx.client.query('VACUUM ANALYZE beckett.checkpoints');
    },
    verify: (ctx, side) => expectExact(ctx, `rebuild (${side})`),
  };
}

/**
 * `count` reservations by 8 workers, each on its own connection. Subject: the family's reserve
 * on the hot tables. Baseline: the checkpoints-only reserve with a partial index on due rows
 * (present for both sides), the hot-table triggers disabled so it pays nothing for them. Each
 * run's reservations are undone before the next (with the triggers as that run had them, so the
 * hot tables stay exact).
 */
function reserve(rows: number): BenchOperation {
  let due = new Set<string>();
  let count = 0;
  const side = (sql: string) => ({
    kind: 'fn' as const,
    sql,
    async run(ctx: BenchContext): Promise<RunOutput> {
      const clients = await Promise.all(Array.from({ length: WORKERS }, () => ctx.db.connect()));
      try {
        const run = await reserveConcurrently(clients, sql, { count });
        return { ms: run.ms, stats: reservationStats(run, due) };
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    },
  });
  return {
    id: 'checkpoint.reserve',
    title: `${WORKERS} workers reserving: checkpoint_reserve_next (hot tables) vs checkpoints-only SKIP LOCKED`,
    units: { count: Math.min(20_000, Math.floor(rows * 0.05)), label: 'reservations' },
    subject: side(HOT_RESERVE_SQL),
    baseline: side(SINGLE_TABLE_RESERVE_SQL),
    async setup(ctx) {
      await ctx.client.query(SINGLE_TABLE_INDEX_SQL);
      await ctx.client.query('ANALYZE beckett.checkpoints');
      await expectExact(ctx, 'reserve setup');
      due = await dueIds(ctx.client);
      count = Math.min(20_000, Math.floor(rows * 0.05), due.size);
    },
    async reset(ctx, which) {
      // Undone through the trigger state of the previous run, then set for this one.
      await ctx.client.query(UNDO_RESERVATIONS_SQL);
      const state = which === 'subject' ? 'ENABLE' : 'DISABLE';
      await ctx.client.query(
        `ALTER TABLE beckett.checkpoints ${state} TRIGGER checkpoint_hot_tables_update`,
      );
      await ctx.client.query(
        'VACUUM ANALYZE beckett.checkpoints, beckett.checkpoints_ready, beckett.checkpoints_reserved',
      );
    },
    async verify(ctx, which, output) {
      const s = output.stats!;
      if (s.reservations !== count || s.doubles !== 0 || s.notDue !== 0)
        throw new Error(`reserve (${which}): ${JSON.stringify(s)}, expected ${count} reservations`);
      if (which === 'subject') await expectExact(ctx, 'reserve (subject)');
    },
  };
}

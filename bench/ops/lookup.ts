/**
 * The lookup family's operations: the migration's backfill, `resync partition-lookup`,
 * `check consistency lookup`, `check skew` (on a stand-in partitioned table) and the trigger's
 * cost on inserts, each against the best hand-written SQL (./lookup/baselines.ts).
 *
 * Data: `rows` messages over rows/20 partitions in rows/2000 queues (seedQueen: hot partitions,
 * minute-granular timestamps, so ties on created_at are decided by id).
 */
import { dbopsOrThrow } from '../lib/cli.js';
import { batchedResyncNote, checkNote } from '../lib/notes.js';
import { checkCounts, expectCounts, type ResyncNumbers, resyncNumbers } from '../lib/reports.js';
import type { BenchContext, BenchFamily, BenchOperation } from '../lib/types.js';
import {
  BACKFILL_SQL,
  CHECK_SQL,
  COUNT_PER_PARTITION_SQL,
  RESYNC_SQL,
} from './lookup/baselines.js';
import { createBenchChunks } from './lookup/chunks.js';
import {
  createDrift,
  independentDrift,
  type LookupDrift,
  restoreDrift,
  saveDrift,
  settle,
} from './lookup/drift.js';
import { insertOperations } from './lookup/inserts.js';
import { seedQueenForBench } from './lookup/seed.js';

const lookup: BenchFamily = {
  name: 'lookup',
  rowsLabel: 'messages',
  async prepare(ctx) {
    const partitions = Math.max(100, Math.round(ctx.rows / 20));
    const queues = Math.max(2, Math.round(partitions / 100));
    ctx.log(`lookup: seeding ${ctx.rows} messages over ${partitions} partitions, ${queues} queues`);
    await seedQueenForBench(ctx.client, { queues, partitions, messages: ctx.rows });
    const drift = driftState();
    return [
      backfill(partitions),
      checkConsistency(partitions, drift),
      resync(partitions, drift),
      resync(partitions, drift, true),
      ...skew(ctx.rows),
      ...insertOperations(ctx.rows),
    ];
  },
};
export default lookup;

async function expectExact(ctx: BenchContext, what: string): Promise<void> {
  const drift = await independentDrift(ctx.client);
  if (drift !== 0) throw new Error(`${what}: ${drift} lookup rows differ from the truth`);
}

function backfill(partitions: number): BenchOperation {
  return {
    id: 'lookup.backfill',
    title: 'migrate up lookup: 0002 backfill (0001 applied)',
    units: { count: partitions, label: 'partitions' },
    target: 1.3,
    subject: { kind: 'cli', args: ['migrate', 'up', 'lookup', '--format', 'json'] },
    baseline: { kind: 'sql', sql: BACKFILL_SQL },
    async setup(ctx) {
      await dbopsOrThrow(ctx.db.url, 'migrate', 'up', 'lookup', '--to', '0001_partition_lookup');
    },
    async reset(ctx) {
      const { rows } = await ctx.client.query(
        `SELECT 1 FROM dbops.migrations_lookup WHERE name = '0002_partition_lookup_backfill'`,
      );
      if (rows.length > 0)
        await dbopsOrThrow(ctx.db.url, 'migrate', 'down', 'lookup', '--count', '1');
      await ctx.client.query('TRUNCATE queen.partition_lookup');
      await settle(ctx.client, 'queen.partition_lookup');
    },
    verify: (ctx, side) => expectExact(ctx, `backfill (${side})`),
  };
}

/** The drifted state shared by the check and the resync, created once. */
function driftState(): (ctx: BenchContext) => Promise<LookupDrift> {
  let created: Promise<LookupDrift> | undefined;
  return (ctx) => {
    created ??= (async () => {
      await dbopsOrThrow(ctx.db.url, 'migrate', 'up', 'lookup');
      await expectExact(ctx, 'before drifting');
      const drift = await createDrift(ctx.client);
      await saveDrift(ctx.client);
      ctx.log(`lookup: drift ${JSON.stringify(drift)}`);
      return drift;
    })();
    return created;
  };
}

function checkConsistency(
  partitions: number,
  drift: (ctx: BenchContext) => Promise<LookupDrift>,
): BenchOperation {
  let expected: LookupDrift;
  return {
    id: 'lookup.check',
    title: 'check consistency lookup (4 checks) vs one counting query',
    units: { count: partitions, label: 'partitions' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: ['check', 'consistency', 'lookup', '--format', 'json'],
      okCodes: [1],
    },
    baseline: { kind: 'sql', sql: CHECK_SQL },
    note: checkNote,
    async setup(ctx) {
      expected = await drift(ctx);
    },
    reset: (ctx) => restoreDrift(ctx.client),
    async verify(_ctx, side, output) {
      expectCounts('check', side, checkCounts(side, output), expected);
    },
  };
}

/**
 * `resync partition-lookup` in its default batches, or (onePass) with --batch-size covering every
 * partition: then it locks partition_lookup against writes and repairs in one statement.
 */
function resync(
  partitions: number,
  drift: (ctx: BenchContext) => Promise<LookupDrift>,
  onePass = false,
): BenchOperation {
  let expected: ResyncNumbers;
  return {
    id: onePass ? 'lookup.resync-one-pass' : 'lookup.resync',
    title: onePass
      ? `resync partition-lookup --batch-size ${partitions} (one pass, table locked) vs the same statement`
      : 'resync partition-lookup vs one upsert+delete statement',
    units: { count: partitions, label: 'partitions' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: [
        'resync',
        'partition-lookup',
        ...(onePass ? ['--batch-size', String(partitions)] : []),
        '--format',
        'json',
      ],
    },
    baseline: { kind: 'sql', sql: RESYNC_SQL },
    ...(onePass ? {} : { note: batchedResyncNote('batches of 5,000 partitions') }),
    async setup(ctx) {
      const d = await drift(ctx);
      expected = { inserted: d.missing, updated: d.behind + d.ahead, deleted: d.orphaned };
    },
    reset: (ctx) => restoreDrift(ctx.client),
    async verify(ctx, side, output) {
      const got = side === 'baseline' ? output.rows![0]! : resyncNumbers(output);
      expectCounts('resync', side, got, expected);
      await expectExact(ctx, `resync (${side})`);
    },
  };
}

function skew(rows: number): BenchOperation[] {
  let created: Promise<void> | undefined;
  let expectedTotal = 0;
  const op = (exact: boolean): BenchOperation => ({
    id: exact ? 'lookup.skew-exact' : 'lookup.skew-estimate',
    title: `check skew${exact ? ' --exact' : ''} (100 LIST partitions) vs count(*) per partition`,
    units: { count: rows, label: 'rows' },
    ...(exact ? { target: 1.3 } : {}),
    subject: {
      kind: 'cli',
      args: [
        'check',
        'skew',
        '--table',
        'bench_chunks',
        '--format',
        'json',
        ...(exact ? ['--exact'] : []),
      ],
      okCodes: [0, 1],
    },
    baseline: { kind: 'sql', sql: COUNT_PER_PARTITION_SQL },
    async setup(ctx) {
      created ??= (async () => {
        ctx.log(`lookup: bench_chunks, ${rows} rows in 100 LIST partitions`);
        await createBenchChunks(ctx.client, rows);
        const { rows: counts } = await ctx.client.query<{ rows: number }>(COUNT_PER_PARTITION_SQL);
        expectedTotal = counts.reduce((s, r) => s + r.rows, 0);
      })();
      await created;
    },
    async verify(_ctx, side, output) {
      if (side === 'baseline') {
        const total = output.rows!.reduce((s, r) => s + Number(r.rows), 0);
        if (total !== expectedTotal)
          throw new Error(`count(*): ${total}, expected ${expectedTotal}`);
        return;
      }
      const report = JSON.parse(output.stdout!) as {
        checks: {
          details: { skew: { method: string; total: number; fallbackReason?: string } };
        }[];
      };
      const { method, total, fallbackReason } = report.checks[0]!.details.skew;
      const want = exact ? 'exact' : 'estimate';
      // Without --exact, estimates that show skew make check skew count rows per collection to
      // judge it against the best achievable placement (issue 15): that scan is what is timed then.
      const judged =
        !exact && method === 'exact' && fallbackReason?.startsWith('estimates showed skew');
      if (method !== want && !judged)
        throw new Error(`check skew used ${method} counts, expected ${want}`);
      if (
        method === 'exact'
          ? total !== expectedTotal
          : Math.abs(total - expectedTotal) > expectedTotal * 0.05
      )
        throw new Error(`check skew (${method}): total ${total}, expected ${expectedTotal}`);
    },
  });
  return [op(false), op(true)];
}

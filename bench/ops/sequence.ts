/**
 * The sequence family's operations: the migration's backfill (0007), `check consistency
 * sequence`, `resync sequence-numbers` and `resync conversation-stats`, each against the best
 * hand-written SQL (./sequence/baselines.ts), and the triggers' cost on inserts. The migration
 * as a whole, with a writer, is measured by bench/online-sequence.ts.
 *
 * Data: `rows` messages over rows/50 conversations (seedNova: skewed towards hot conversations,
 * minute-granular timestamps, so ties on created_at are decided by id; 1 in 200 without one).
 */
import { novaBaseSchemaSql, seedNova } from '../../src/families/sequence/fixture.js';
import { dbopsOrThrow } from '../lib/cli.js';
import { batchedResyncNote, checkNote } from '../lib/notes.js';
import { checkCounts, expectCounts, resyncNumbers } from '../lib/reports.js';
import type { BenchContext, BenchFamily, BenchOperation } from '../lib/types.js';
import {
  BACKFILL_SQL,
  CHECK_SQL,
  RESYNC_NUMBERS_SQL,
  RESYNC_STATS_SQL,
} from './sequence/baselines.js';
import {
  createDrift,
  expectExact,
  misnumberedAfterResync,
  restoreDrift,
  type SequenceDrift,
  wrongCounters,
} from './sequence/drift.js';
import { insertOperations } from './sequence/inserts.js';

const sequence: BenchFamily = {
  name: 'sequence',
  rowsLabel: 'messages',
  async prepare(ctx) {
    const conversations = Math.max(20, Math.round(ctx.rows / 50));
    ctx.log(`sequence: seeding ${ctx.rows} messages over ${conversations} conversations`);
    await ctx.client.query(novaBaseSchemaSql());
    await seedNova(ctx.client, { conversations, messages: ctx.rows });
    await ctx.client.query('VACUUM ANALYZE');
    const drift = driftState();
    return [
      backfill(ctx.rows),
      check(ctx.rows, drift),
      resync('sequence-numbers', conversations, drift),
      resync('conversation-stats', conversations, drift),
      ...insertOperations(ctx.rows),
    ];
  },
};
export default sequence;

/**
 * The backfill step alone: 0001-0006 applied (columns, triggers, defaults), every number and
 * counter NULL, content_tsv NULL. Reset puts messages back byte for byte from a copy taken then
 * (loaded with triggers off, so nothing numbers them), in the same physical order every time.
 */
function backfill(rows: number): BenchOperation {
  return {
    id: 'sequence.backfill',
    title: 'migrate up sequence: 0007 backfill (0006 applied) vs one UPDATE with row_number()',
    units: { count: rows, label: 'messages' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: ['migrate', 'up', 'sequence', '--to', '0007', '--format', 'json'],
    },
    baseline: { kind: 'sql', sql: BACKFILL_SQL },
    async setup(ctx) {
      await dbopsOrThrow(ctx.db.url, 'migrate', 'up', 'sequence', '--to', '0006');
      await ctx.client.query(
        'CREATE TABLE public.bench_messages_before AS SELECT * FROM public.messages',
      );
    },
    async reset(ctx) {
      const { rows: applied } = await ctx.client.query(
        `SELECT 1 FROM dbops.migrations_sequence WHERE name = '0007_sequence_backfill'`,
      );
      if (applied.length > 0)
        await dbopsOrThrow(ctx.db.url, 'migrate', 'down', 'sequence', '--count', '1');
      const c = ctx.client;
      await c.query('SET session_replication_role = replica');
      await c.query('TRUNCATE public.messages');
      await c.query('INSERT INTO public.messages SELECT * FROM public.bench_messages_before');
      await c.query('RESET session_replication_role');
      await c.query(`
        UPDATE public.conversations
           SET last_sequence_number = NULL, member_count = NULL,
               last_message_id = NULL, last_message_at = NULL
         WHERE (last_sequence_number, member_count, last_message_id, last_message_at)
               IS DISTINCT FROM (NULL, NULL, NULL, NULL)`);
      await c.query('VACUUM ANALYZE public.messages, public.conversations');
      await c.query('CHECKPOINT');
    },
    verify: (ctx, side) => expectExact(ctx.client, `backfill (${side})`),
  };
}

/** The drifted state shared by the check and the resyncs: the rest of the migration, then drift. */
function driftState(): (ctx: BenchContext) => Promise<SequenceDrift> {
  let created: Promise<SequenceDrift> | undefined;
  return (ctx) => {
    created ??= (async () => {
      await dbopsOrThrow(ctx.db.url, 'migrate', 'up', 'sequence');
      await ctx.client.query('DROP TABLE public.bench_messages_before');
      const drift = await createDrift(ctx.client);
      ctx.log(`sequence: drift ${JSON.stringify(drift)}`);
      return drift;
    })();
    return created;
  };
}

function check(rows: number, drift: (ctx: BenchContext) => Promise<SequenceDrift>): BenchOperation {
  let expected: Record<string, number>;
  return {
    id: 'sequence.check',
    title: 'check consistency sequence (6 checks) vs one counting query',
    units: { count: rows, label: 'messages' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: ['check', 'consistency', 'sequence', '--format', 'json'],
      okCodes: [1],
    },
    baseline: { kind: 'sql', sql: CHECK_SQL },
    note: checkNote,
    async setup(ctx) {
      const d = await drift(ctx);
      await restoreDrift(ctx.client);
      expected = (await ctx.client.query(CHECK_SQL)).rows[0];
      // The baseline's counts must be the drift that was made (the other findings are derived:
      // a conversation whose numbers lost a middle message has a gap).
      const made = expected.counter! + expected['member-count']! + expected['last-message']!;
      if (expected.nulls !== d.nulls || expected.duplicates !== 0 || made !== d.conversations) {
        throw new Error(`check drift: ${JSON.stringify(expected)}, made ${JSON.stringify(d)}`);
      }
    },
    async verify(_ctx, side, output) {
      expectCounts('check', side, checkCounts(side, output), expected);
    },
  };
}

/** Each sequence resync target: its bench id, baseline, expected updates and leftover count. */
const RESYNCS = {
  'sequence-numbers': {
    id: 'sequence.resync-numbers',
    title: 'resync sequence-numbers vs one renumbering UPDATE',
    sql: RESYNC_NUMBERS_SQL,
    expectedOf: (d: SequenceDrift) => d.nulls,
    wrong: misnumberedAfterResync,
  },
  'conversation-stats': {
    id: 'sequence.resync-stats',
    title: 'resync conversation-stats vs one UPDATE from aggregates',
    sql: RESYNC_STATS_SQL,
    expectedOf: (d: SequenceDrift) => d.conversations,
    wrong: wrongCounters,
  },
};

/**
 * A resync target against its one-statement baseline: `expected` rows updated (from the drift
 * made), then `wrong` (an independent count of what is still off) must be 0.
 */
function resync(
  target: keyof typeof RESYNCS,
  conversations: number,
  drift: (ctx: BenchContext) => Promise<SequenceDrift>,
): BenchOperation {
  const { id, title, sql, expectedOf, wrong } = RESYNCS[target];
  let expected = 0;
  return {
    id,
    title,
    units: { count: conversations, label: 'conversations' },
    target: 1.3,
    subject: { kind: 'cli', args: ['resync', target, '--format', 'json'] },
    baseline: { kind: 'sql', sql },
    note: batchedResyncNote('batches of 500 conversations'),
    async setup(ctx) {
      expected = expectedOf(await drift(ctx));
    },
    reset: (ctx) => restoreDrift(ctx.client),
    async verify(ctx, side, output) {
      const updated =
        side === 'baseline' ? Number(output.rows![0]!.updated) : resyncNumbers(output).updated;
      if (updated !== expected)
        throw new Error(`${id} (${side}): updated ${updated}, expected ${expected}`);
      const left = await wrong(ctx.client);
      if (left !== 0) throw new Error(`${id} (${side}): ${left} still wrong after the resync`);
    },
  };
}

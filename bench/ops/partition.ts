/**
 * The partition family's operations: the migration's bulk copy (0002, into the unindexed
 * staging table), `check consistency partition` and `resync chunking-stats`, each against the
 * best hand-written SQL (./partition/baselines.ts). The online move as a whole, with a writer,
 * is measured by bench/online-partition.ts.
 *
 * Data: `rows` chunks over rows/4000 collections of uneven sizes (createSeededSemantik).
 */

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSeededSemantik } from '../../src/families/partition/fixture.js';
import { KEY_CHECK_DEFINITION } from '../../src/families/partition/online/key.js';
import { dbopsOrThrow } from '../lib/cli.js';
import { checkNote } from '../lib/notes.js';
import { checkCounts, expectCounts, resyncNumbers } from '../lib/reports.js';
import type { BenchContext, BenchFamily, BenchOperation } from '../lib/types.js';
import { CHECK_SQL, COPY_EXACT_SQL, COPY_SQL, RESYNC_SQL } from './partition/baselines.js';

const partition: BenchFamily = {
  name: 'partition',
  rowsLabel: 'chunks',
  async prepare(ctx) {
    const collections = Math.max(20, Math.round(ctx.rows / 4000));
    ctx.log(`partition: seeding ${ctx.rows} chunks over ${collections} collections`);
    await createSeededSemantik(ctx.client, { collections, chunks: ctx.rows });
    await ctx.client.query('VACUUM ANALYZE');
    return [copy(ctx.rows), copy(ctx.rows, true), check(ctx.rows), resync(collections)];
  },
};
export default partition;

async function applied(ctx: BenchContext, name: string): Promise<boolean> {
  const { rows } = await ctx.client.query(
    `SELECT 1 FROM dbops.migrations_partition WHERE name = $1`,
    [name],
  );
  return rows.length > 0;
}

/** A config file whose batchSize is `rows` (migrate has no --batch-size flag; the config sets it). */
function batchConfig(rows: number): string {
  const file = join(tmpdir(), `dbops-bench-batch-${rows}.json`);
  writeFileSync(file, JSON.stringify({ batchSize: rows }));
  return file;
}

/** chunks_list empty and the copy cursor at the start, 0001 applied and nothing after it. */
async function emptyStaging(ctx: BenchContext): Promise<void> {
  if (await applied(ctx, '0002_copy_rows')) {
    await dbopsOrThrow(ctx.db.url, 'migrate', 'down', 'partition', '--to', '0001');
  }
  await ctx.client.query('TRUNCATE public.chunks_list');
}

/**
 * The copy in its default batches (10,000 rows: a writer's row is never held up by more than one
 * batch, and an interruption loses at most one), or (largeBatches) with the config's batchSize
 * covering the table: one statement per source partition, the faster path when nothing else
 * writes.
 */
function copy(rows: number, largeBatches = false): BenchOperation {
  return {
    id: largeBatches ? 'partition.copy-large-batches' : 'partition.copy',
    title: `migrate up partition: 0002 copy into chunks_list (0001 applied)${largeBatches ? ', batchSize covering the table' : ''} vs one INSERT ... SELECT`,
    units: { count: rows, label: 'chunks' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: [
        'migrate',
        'up',
        'partition',
        '--to',
        '0002',
        '--format',
        'json',
        ...(largeBatches ? ['--config', batchConfig(rows)] : []),
      ],
    },
    baseline: { kind: 'sql', sql: COPY_SQL },
    async setup(ctx) {
      await dbopsOrThrow(ctx.db.url, 'migrate', 'up', 'partition', '--to', '0001');
    },
    reset: emptyStaging,
    async verify(ctx, side) {
      const { rows: r } = await ctx.client.query(COPY_EXACT_SQL);
      if (!r[0].exact) throw new Error(`copy (${side}): chunks_list differs from chunks`);
    },
  };
}

/**
 * Drift for the check: the key CHECK dropped, 50 chunks moved under a wrong key, 20 copied
 * under a wrong key (duplicates, also misrouted), token counts changed in 5 collections (stale
 * stats). The expected counts are the baseline's, checked against the drift made.
 */
function check(rows: number): BenchOperation {
  let expected: Record<string, number>;
  return {
    id: 'partition.check',
    title: 'check consistency partition (3 checks) vs one counting query',
    units: { count: rows, label: 'chunks' },
    target: 1.3,
    subject: {
      kind: 'cli',
      args: ['check', 'consistency', 'partition', '--format', 'json'],
      okCodes: [1],
    },
    baseline: { kind: 'sql', sql: CHECK_SQL },
    note: checkNote,
    async setup(ctx) {
      await emptyStaging(ctx);
      await dbopsOrThrow(ctx.db.url, 'migrate', 'up', 'partition');
      const c = ctx.client;
      await c.query('ALTER TABLE public.chunks DROP CONSTRAINT chunks_partition_key_check');
      await c.query(
        `UPDATE public.chunks SET partition_key = (partition_key + 1) % 100
          WHERE id IN (SELECT id FROM public.chunks ORDER BY id LIMIT 50)`,
      );
      await c.query(
        `INSERT INTO public.chunks (id, collection_id, document_id, chunk_index, content, partition_key)
         SELECT 'copy-' || id, collection_id, document_id, chunk_index, content, (partition_key + 1) % 100
           FROM public.chunks ORDER BY id DESC LIMIT 20`,
      );
      await c.query(
        `UPDATE public.chunks SET token_count = coalesce(token_count, 0) + 1
          WHERE collection_id IN (SELECT id FROM public.collections ORDER BY id LIMIT 5)`,
      );
      await c.query('VACUUM ANALYZE public.chunks');
      expected = (await c.query(CHECK_SQL)).rows[0];
      if (expected.misrouted !== 70 || expected.duplicates !== 20) {
        throw new Error(
          `check drift: ${JSON.stringify(expected)}, expected 70 misrouted, 20 duplicates`,
        );
      }
    },
    async verify(_ctx, side, output) {
      expectCounts('check', side, checkCounts(side, output), expected);
    },
  };
}

/** Before every run, the stats of (up to) 10 collections go stale; the refresh must bring all back. */
function resync(collections: number): BenchOperation {
  let stale: string[] = [];
  return {
    id: 'partition.resync',
    title: 'resync chunking-stats vs REFRESH MATERIALIZED VIEW CONCURRENTLY',
    units: { count: collections, label: 'collections' },
    target: 1.3,
    subject: { kind: 'cli', args: ['resync', 'chunking-stats', '--format', 'json'] },
    baseline: { kind: 'sql', sql: RESYNC_SQL },
    async setup(ctx) {
      // Undo the check's drift, so the keys are whole again.
      await ctx.client.query(`DELETE FROM public.chunks WHERE id LIKE 'copy-%'`);
      await ctx.client.query(
        `UPDATE public.chunks SET partition_key = chunk_partition_key(collection_id)
          WHERE partition_key <> chunk_partition_key(collection_id)`,
      );
      await ctx.client.query(`ALTER TABLE public.chunks ADD ${KEY_CHECK_DEFINITION}`);
      const { rows } = await ctx.client.query(
        'SELECT collection_id AS id FROM public.chunks GROUP BY 1 ORDER BY 1 LIMIT 10',
      );
      stale = rows.map((r) => r.id);
    },
    async reset(ctx) {
      await ctx.client.query(
        `UPDATE public.chunks SET token_count = coalesce(token_count, 0) + 1
          WHERE collection_id = ANY ($1)`,
        [stale],
      );
    },
    async verify(ctx, side, output) {
      const { rows } = await ctx.client.query(CHECK_SQL);
      if (rows[0]['chunking-stats'] !== 0) {
        throw new Error(`resync (${side}): ${rows[0]['chunking-stats']} collections still stale`);
      }
      if (side === 'subject') {
        const numbers = resyncNumbers(output);
        if (numbers.updated !== stale.length) {
          throw new Error(`resync: updated ${numbers.updated}, expected ${stale.length}`);
        }
      }
    },
  };
}

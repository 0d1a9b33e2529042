import type pg from 'pg';
import { createSeededSemantik } from '../../src/families/partition/fixture.js';
import { createShadow, SHADOW } from '../../test/helpers/chunksWriter.js';
import {
  columnExists,
  counts,
  type FamilyHarness,
  pickRow,
  relationExists,
} from '../lib/harness.js';
import { intIn, type Rng } from '../lib/rng.js';

const COLS = `id, collection_id, document_id, chunking_config_id, chunk_index, content, start_offset,
              end_offset, token_count, embedding_vector_id, created_at, meta`;

/** Unique chunk_index values across every writer of this process (Semantik numbers per job). */
let nextIndex = 2_000_000;

/** Inserts `n` chunks for a document into chunks and the shadow, with partition_key once chunks has it. */
async function insertChunks(
  c: pg.ClientBase,
  doc: { id: string; collection_id: string },
  n: number,
): Promise<void> {
  const first = nextIndex;
  nextIndex += n;
  const keyed = await columnExists(c, 'public.chunks', 'partition_key');
  const select = `SELECT 'h-' || gen_random_uuid(), $1::varchar, $2::varchar, 1, $3::int + g, 'chunk ' || g, 0, 10, 3,
                         NULL, now(), '{"h": 1}'::json FROM generate_series(0, $4::int - 1) g`;
  await c.query(
    keyed
      ? `INSERT INTO public.chunks (${COLS}, partition_key)
         SELECT s.*, chunk_partition_key($1) FROM (${select}) s`
      : `INSERT INTO public.chunks (${COLS}) ${select}`,
    [doc.collection_id, doc.id, first, n],
  );
  await c.query(
    `INSERT INTO ${SHADOW} (${COLS}) SELECT ${COLS} FROM public.chunks
      WHERE document_id = $1 AND chunk_index >= $2 AND chunk_index < $2 + $3`,
    [doc.id, first, n],
  );
}

async function pickChunk(c: pg.ClientBase, rnd: Rng) {
  return pickRow<{ id: string; collection_id: string }>(
    c,
    rnd,
    SHADOW,
    'id, collection_id',
    'id, collection_id',
  );
}

/**
 * Semantik: chunk inserts for existing documents and for new documents and collections, chunk
 * edits and deletes, document and collection deletes (cascading to chunks). Every change is
 * made to a plain shadow table in the same transaction: chunks must always equal it.
 */
export const partitionHarness: FamilyHarness = {
  name: 'partition',
  schema: 'public',
  baseTables: ['public.collections', 'public.documents', 'public.chunks'],
  resyncTargets: ['chunking-stats'],
  // 23503: a chunk insert racing its document's delete. 42703: a writer that checked for
  // partition_key just before `migrate down` dropped the column (a deploy race, not dbops').
  appErrors: ['23503', '42703'],
  async setup(db) {
    await createSeededSemantik(db.client, { collections: 30, chunks: 3000 });
    await createShadow(db.client);
  },
  ops: [
    {
      name: 'insert-chunks',
      weight: 4,
      async run(c, rnd) {
        const doc = await pickRow<{ id: string; collection_id: string }>(
          c,
          rnd,
          'public.documents',
          'id, collection_id',
          'id',
        );
        if (doc) await insertChunks(c, doc, intIn(rnd, 1, 8));
      },
    },
    {
      name: 'new-document',
      async run(c, rnd) {
        const col = await pickRow<{ id: string }>(c, rnd, 'public.collections', 'id', 'id');
        if (!col) return;
        const { rows } = await c.query(
          `INSERT INTO public.documents (id, collection_id, file_name, content_hash, status, chunk_count)
           VALUES ('h-' || gen_random_uuid(), $1, 'h.pdf', md5(random()::text), 'completed', 0) RETURNING id`,
          [col.id],
        );
        await insertChunks(c, { id: rows[0].id, collection_id: col.id }, intIn(rnd, 1, 10));
      },
    },
    {
      name: 'new-collection',
      weight: 0.3,
      async run(c, rnd) {
        const { rows } = await c.query(
          `WITH col AS (INSERT INTO public.collections (id, name, owner_id, status, chunk_size)
                        VALUES ('h-' || gen_random_uuid(), 'h-' || gen_random_uuid(), 1, 'ready', 512) RETURNING id)
           INSERT INTO public.documents (id, collection_id, file_name, content_hash, status, chunk_count)
           SELECT 'h-' || gen_random_uuid(), id, 'h.pdf', md5(random()::text), 'completed', 0 FROM col
           RETURNING id, collection_id`,
        );
        await insertChunks(c, rows[0], intIn(rnd, 1, 10));
      },
    },
    {
      name: 'update-chunk',
      weight: 2,
      async run(c, rnd) {
        const k = await pickChunk(c, rnd);
        if (!k) return;
        for (const t of ['public.chunks', SHADOW])
          await c.query(
            `UPDATE ${t} SET content = content || '+', token_count = coalesce(token_count, 0) + 1
              WHERE id = $1 AND collection_id = $2`,
            [k.id, k.collection_id],
          );
      },
    },
    {
      name: 'delete-chunk',
      async run(c, rnd) {
        const k = await pickChunk(c, rnd);
        if (!k) return;
        for (const t of ['public.chunks', SHADOW])
          await c.query(`DELETE FROM ${t} WHERE id = $1 AND collection_id = $2`, [
            k.id,
            k.collection_id,
          ]);
      },
    },
    {
      name: 'delete-document',
      weight: 0.3,
      async run(c, rnd) {
        const d = await pickRow<{ id: string }>(c, rnd, 'public.documents', 'id', 'id');
        if (!d) return;
        await c.query('DELETE FROM public.documents WHERE id = $1', [d.id]);
        await c.query(`DELETE FROM ${SHADOW} WHERE document_id = $1`, [d.id]);
      },
    },
    {
      name: 'delete-collection',
      weight: 0.05,
      async run(c, rnd) {
        const col = await pickRow<{ id: string }>(c, rnd, 'public.collections', 'id', 'id');
        if (!col) return;
        await c.query('DELETE FROM public.collections WHERE id = $1', [col.id]);
        await c.query(`DELETE FROM ${SHADOW} WHERE collection_id = $1`, [col.id]);
      },
    },
  ],
  async drift(c) {
    for (let i = 0; i < 10; i++) {
      const doc = (
        await c.query('SELECT id, collection_id FROM public.documents ORDER BY random() LIMIT 1')
      ).rows[0];
      await insertChunks(c, doc, 5);
    }
  },
  async oracle(c) {
    const always = await counts(
      c,
      `SELECT (SELECT count(*) FROM (SELECT ${COLS.replace('meta', 'meta::text')} FROM public.chunks
                 EXCEPT ALL SELECT ${COLS.replace('meta', 'meta::text')} FROM ${SHADOW}) x) AS "notInShadow",
              (SELECT count(*) FROM (SELECT ${COLS.replace('meta', 'meta::text')} FROM ${SHADOW}
                 EXCEPT ALL SELECT ${COLS.replace('meta', 'meta::text')} FROM public.chunks) x) AS "lostFromChunks"`,
    );
    if (!(await relationExists(c, 'public.collection_chunking_stats')))
      return { always, afterResync: {} };
    // Routing by an independent expression (PERF-NOTES: the same values as the key function).
    Object.assign(
      always,
      await counts(
        c,
        `SELECT count(*) AS misrouted FROM public.chunks c
          WHERE c.tableoid <> format('public.chunks_part_%s',
                  lpad((abs(hashtext(c.collection_id)::bigint) % 100)::text, 2, '0'))::regclass`,
      ),
    );
    const afterResync = await counts(
      c,
      `WITH truth AS (SELECT col.id, count(ch.id) AS n, count(DISTINCT ch.document_id) AS docs
                        FROM public.collections col LEFT JOIN public.chunks ch ON ch.collection_id = col.id
                       GROUP BY col.id)
       SELECT count(*) AS stats FROM truth t FULL JOIN public.collection_chunking_stats s ON s.id = t.id
        WHERE t.id IS NULL OR s.id IS NULL OR s.total_chunks <> t.n OR s.chunked_documents <> t.docs`,
    );
    return { always, afterResync };
  },
};

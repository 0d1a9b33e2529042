import type pg from 'pg';

/**
 * Semantik's real schema (shared/fixtures/real/partition_real.sql) grown to a test size, and a
 * writer that writes chunks the way Semantik's code did before the 100-partition change: no
 * partition_key column (its model has none).
 */

/** Adds `perDocument` chunks to every document (chunk_index 1000..), like the fixture's own rows. */
export async function growRealChunks(client: pg.ClientBase, perDocument: number): Promise<void> {
  await client.query(
    `INSERT INTO public.chunks (id, collection_id, document_id, chunking_config_id, chunk_index, content,
                                start_offset, end_offset, token_count, embedding_vector_id, created_at, meta)
     SELECT md5('grown-' || d.id || '-' || g)::uuid::text, d.collection_id, d.id, d.chunking_config_id, 1000 + g,
            repeat(md5(d.id || g), 1 + (g % 5)), g * 450, g * 450 + 200, 8 * (1 + g % 9),
            md5('vec-grown' || d.id || g)::uuid::text, d.created_at + g * interval '1 second',
            json_build_object('page', 1 + g / 3)
       FROM public.documents d CROSS JOIN generate_series(1, $1) g`,
    [perDocument],
  );
  await client.query('REFRESH MATERIALIZED VIEW public.collection_chunking_stats');
  await client.query('ANALYZE public.chunks');
}

export interface OldWriterResult {
  /** Inserted rows and the partition the INSERT's RETURNING named (chunks_default after the swap). */
  inserted: { id: string; collectionId: string; routedTo: string }[];
  updates: number;
  deletes: number;
  deleted: { id: string; collectionId: string }[];
  errors: string[];
}

type Doc = { id: string; collection_id: string; chunking_config_id: number };

/**
 * Inserts (without partition_key), updates and deletes chunks in a loop until stopped, each in
 * its own transaction, as Semantik's pre-change code does. Records what it committed.
 */
export function startOldWriter(client: pg.Client, docs: Doc[], tag: string) {
  const result: OldWriterResult = { inserted: [], updates: 0, deletes: 0, deleted: [], errors: [] };
  let running = true;
  let n = 0;
  const pick = () => docs[Math.floor(Math.random() * docs.length)]!;
  const once = async () => {
    const r = Math.random();
    try {
      if (r < 0.6 || result.inserted.length < 5) {
        const d = pick();
        const id = `${tag}-${++n}-${Math.random().toString(36).slice(2)}`;
        const { rows } = await client.query(
          `INSERT INTO public.chunks (id, collection_id, document_id, chunking_config_id, chunk_index, content,
                                      start_offset, end_offset, token_count, embedding_vector_id, meta)
           VALUES ($1, $2, $3, $4, $5, 'written by an old writer', 0, 23, 5, $1, '{"old": true}')
           RETURNING tableoid::regclass::text AS part`,
          [id, d.collection_id, d.id, d.chunking_config_id, 100_000 + n],
        );
        result.inserted.push({ id, collectionId: d.collection_id, routedTo: rows[0].part });
      } else if (r < 0.85) {
        const row = result.inserted[Math.floor(Math.random() * result.inserted.length)]!;
        await client.query(
          `UPDATE public.chunks SET content = content || '+', token_count = token_count + 1
            WHERE id = $1 AND collection_id = $2`,
          [row.id, row.collectionId],
        );
        result.updates += 1;
      } else {
        const row = result.inserted.pop()!;
        await client.query('DELETE FROM public.chunks WHERE id = $1 AND collection_id = $2', [
          row.id,
          row.collectionId,
        ]);
        result.deletes += 1;
        result.deleted.push({ id: row.id, collectionId: row.collectionId });
      }
    } catch (err) {
      result.errors.push((err as Error).message);
    }
  };
  const loop = (async () => {
    while (running) await once();
  })();
  return {
    result,
    async stop(): Promise<OldWriterResult> {
      running = false;
      await loop;
      return result;
    },
  };
}

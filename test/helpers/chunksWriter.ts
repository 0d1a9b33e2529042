import type pg from 'pg';

/**
 * An application writing chunks while dbops moves them: inserts, updates, deletes and document
 * deletes (which cascade to chunks), each in a transaction that applies the same change to a plain
 * shadow table. Whatever dbops does, chunks must end equal to the shadow. Inserts supply
 * partition_key = chunk_partition_key(collection_id) whenever chunks has that column (after 0001:
 * how a writer is deployed for the swap), and omit it otherwise.
 */
export const SHADOW = 'public.writer_shadow';

export async function createShadow(client: pg.ClientBase): Promise<void> {
  await client.query(
    `CREATE TABLE ${SHADOW} AS SELECT id, collection_id, document_id, chunking_config_id, chunk_index, content,
            start_offset, end_offset, token_count, embedding_vector_id, created_at, meta FROM public.chunks`,
  );
  await client.query(`ALTER TABLE ${SHADOW} ADD PRIMARY KEY (id, collection_id)`);
  await client.query(`CREATE INDEX ON ${SHADOW} (document_id)`);
}

export interface WriterResult {
  ops: Record<'insert' | 'update' | 'delete' | 'deleteDocument', number>;
  /** Writes committed, with when. */
  committedAt: Date[];
  /** Transactions that lost a race with a document delete (the application's own error). */
  fkRaces: number;
  errors: string[];
}

type Key = { id: string; collection_id: string };

/** Shared by every writer of the test file, so inserted chunk_index values never repeat. */
let inserted = 0;

export function startChunksWriter(
  client: pg.Client,
  writerNo: number,
  docs: Key[],
  chunks: Key[],
): { stop(): Promise<WriterResult> } {
  const result: WriterResult = {
    ops: { insert: 0, update: 0, delete: 0, deleteDocument: 0 },
    committedAt: [],
    fkRaces: 0,
    errors: [],
  };
  let running = true;
  let n = 0;
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
  const once = async () => {
    const r = Math.random();
    const kind = r < 0.5 ? 'insert' : r < 0.75 ? 'update' : r < 0.97 ? 'delete' : 'deleteDocument';
    await client.query('BEGIN');
    try {
      await applyOp(client, kind, writerNo, ++n, pick(docs), pick(chunks));
      await client.query('COMMIT');
      result.ops[kind] += 1;
      result.committedAt.push(new Date());
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      const code = (err as { code?: string }).code;
      if (code === '23503') result.fkRaces += 1;
      else if (code !== '42703') result.errors.push(`${kind}: ${(err as Error).message}`);
    }
  };
  const loop = (async () => {
    while (running) await once();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return result;
    },
  };
}

async function applyOp(
  c: pg.ClientBase,
  kind: keyof WriterResult['ops'],
  writerNo: number,
  n: number,
  doc: Key,
  chunk: Key,
): Promise<void> {
  const twice = async (sql: (table: string) => string, values: unknown[]) => {
    const a = await c.query(sql('public.chunks'), values);
    const b = await c.query(sql(SHADOW), values);
    if (a.rowCount !== b.rowCount)
      throw new Error(`chunks and shadow differ: ${a.rowCount} vs ${b.rowCount}`);
  };
  if (kind === 'insert') {
    const keyed = (
      await c.query(
        `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'public.chunks'::regclass
                          AND attname = 'partition_key' AND NOT attisdropped) AS keyed`,
      )
    ).rows[0].keyed as boolean;
    inserted += 1;
    const values = [
      `w${writerNo}-${n}-${Math.random()}`,
      doc.collection_id,
      doc.id,
      1_000_000 + inserted,
    ];
    const cols = `id, collection_id, document_id, chunk_index, content, token_count, created_at, meta`;
    const vals = `$1, $2, $3, $4, 'written while moving', 4, now(), '{"w": 1}'`;
    await c.query(
      keyed
        ? `INSERT INTO public.chunks (${cols}, partition_key) VALUES (${vals}, chunk_partition_key($2))`
        : `INSERT INTO public.chunks (${cols}) VALUES (${vals})`,
      values,
    );
    await c.query(`INSERT INTO ${SHADOW} (${cols}) VALUES (${vals})`, values);
  } else if (kind === 'update') {
    await twice(
      (t) =>
        `UPDATE ${t} SET content = content || '+', token_count = coalesce(token_count, 0) + 1 WHERE id = $1 AND collection_id = $2`,
      [chunk.id, chunk.collection_id],
    );
  } else if (kind === 'delete') {
    await twice(
      (t) => `DELETE FROM ${t} WHERE id = $1 AND collection_id = $2`,
      [chunk.id, chunk.collection_id],
    );
  } else {
    await c.query('DELETE FROM public.documents WHERE id = $1', [doc.id]);
    await c.query(`DELETE FROM ${SHADOW} WHERE document_id = $1`, [doc.id]);
  }
}

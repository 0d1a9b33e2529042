import type pg from 'pg';
import { quoteIdent } from '../../db/ident.js';

/**
 * Semantik's base schema (the state before the partition family), as UPSTREAM.md section 1
 * describes it: collections, documents, and chunks HASH-partitioned 16 ways on collection_id.
 * Written out literally (not shared with the family's down migration) so that the round-trip test
 * compares what `down` rebuilds with an independent definition. `schema` defaults to public.
 */
export function semantikBaseSchemaSql(schema = 'public'): string {
  return `${semantikTablesSql(schema)}\n${semantikChunksKeysSql(schema)}`;
}

/** The base tables, with chunks' partitions but without its keys, foreign keys and indexes. */
function semantikTablesSql(schema: string): string {
  const s = quoteIdent(schema);
  const partitions = Array.from(
    { length: 16 },
    (_, i) =>
      `CREATE TABLE ${s}.chunks_p${i} PARTITION OF ${s}.chunks FOR VALUES WITH (MODULUS 16, REMAINDER ${i});`,
  ).join('\n');
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE ${s}.collections (
  id varchar PRIMARY KEY,
  name varchar NOT NULL UNIQUE,
  owner_id integer,
  status varchar,
  chunk_size integer,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
CREATE TABLE ${s}.documents (
  id varchar PRIMARY KEY,
  collection_id varchar NOT NULL REFERENCES ${s}.collections (id) ON DELETE CASCADE,
  file_name varchar,
  content_hash varchar NOT NULL,
  status varchar,
  chunk_count integer,
  created_at timestamptz DEFAULT now(),
  UNIQUE (collection_id, content_hash)
);
CREATE TABLE ${s}.chunks (
  id varchar NOT NULL,
  collection_id varchar NOT NULL,
  document_id varchar NOT NULL,
  chunking_config_id integer,
  chunk_index integer NOT NULL,
  content text NOT NULL,
  start_offset integer,
  end_offset integer,
  token_count integer,
  embedding_vector_id varchar,
  created_at timestamptz NOT NULL DEFAULT now(),
  meta json
) PARTITION BY HASH (collection_id);
${partitions}`;
}

/** chunks' primary key, unique key, foreign keys and indexes, named as PostgreSQL names them. */
function semantikChunksKeysSql(schema: string): string {
  const s = quoteIdent(schema);
  return `
ALTER TABLE ${s}.chunks ADD PRIMARY KEY (id, collection_id);
ALTER TABLE ${s}.chunks ADD UNIQUE (collection_id, document_id, chunk_index);
ALTER TABLE ${s}.chunks ADD FOREIGN KEY (collection_id) REFERENCES ${s}.collections (id) ON DELETE CASCADE;
ALTER TABLE ${s}.chunks ADD FOREIGN KEY (document_id) REFERENCES ${s}.documents (id) ON DELETE CASCADE;
CREATE INDEX ix_chunks_collection_id_document_id ON ${s}.chunks (collection_id, document_id);
CREATE INDEX ix_chunks_document_id ON ${s}.chunks (document_id);
CREATE INDEX ix_chunks_collection_id_chunk_index ON ${s}.chunks (collection_id, chunk_index);
CREATE INDEX ix_chunks_created_at ON ${s}.chunks (created_at);`;
}

export interface SemantikSize {
  collections: number;
  /** Exact number of chunks to create. */
  chunks: number;
  /** Average chunks per document (default 20). */
  chunksPerDocument?: number;
  /** Spread documents evenly over collections instead of piling them into a few (demo). */
  evenCollections?: boolean;
}

/**
 * The base schema filled with `size` of data: tables first, rows, then chunks' keys and indexes
 * (loading an indexed, foreign-keyed chunks table is several times slower). The catalog is the
 * same as semantikBaseSchemaSql() followed by inserts.
 */
export async function createSeededSemantik(
  client: pg.ClientBase,
  size: SemantikSize,
  schema = 'public',
  seed = 0.42,
): Promise<void> {
  await client.query(semantikTablesSql(schema));
  await seedSemantik(client, size, schema, seed);
  await client.query(semantikChunksKeysSql(schema));
  await client.query(`ANALYZE ${quoteIdent(schema)}.chunks`);
}

/**
 * Realistic Semantik data: uuid-like string ids (md5 of a seeded label, so random with respect to
 * insertion order, like uuid4), collections of very uneven sizes (a few large, a long tail of
 * small ones), documents of 1..2x`chunksPerDocument` chunks, chunk content of 32 to 416
 * characters, created_at at minute granularity over 60 days. Deterministic for a given seed.
 */
export async function seedSemantik(
  client: pg.ClientBase,
  size: SemantikSize,
  schema = 'public',
  seed = 0.42,
): Promise<void> {
  const s = quoteIdent(schema);
  const perDoc = size.chunksPerDocument ?? 20;
  // Enough documents for the chunks, plus 5% that have none yet (pending documents).
  const documents = Math.ceil((size.chunks / perDoc) * 1.05) + 1;
  await client.query('SELECT setseed($1)', [seed]);
  await client.query(
    `INSERT INTO ${s}.collections (id, name, owner_id, status, chunk_size, created_at)
     SELECT md5('collection-' || $2 || '-' || g)::uuid::text, 'collection ' || g, 1 + g % 17,
            'ready', 512, timestamptz '2025-06-01' + g * interval '1 hour'
       FROM generate_series(1, $1) g`,
    [size.collections, seed],
  );
  // Collection of each document: power(random(), 3) puts most documents in a few collections
  // (Semantik's real shape); evenCollections deals them round-robin.
  await client.query(
    `INSERT INTO ${s}.documents (id, collection_id, file_name, content_hash, status, chunk_count, created_at)
     SELECT md5('document-' || $3 || '-' || g)::uuid::text,
            c.ids[CASE WHEN $4 THEN 1 + g % $2 ELSE 1 + floor($2 * power(random(), 3))::int END],
            'file-' || g || '.pdf', md5('content-' || g), 'completed', 0,
            timestamptz '2025-06-01' + floor(random() * 86400) * interval '1 minute'
       FROM generate_series(1, $1) g,
            (SELECT array_agg(id ORDER BY created_at) AS ids FROM ${s}.collections) c`,
    [documents, size.collections, seed, size.evenCollections ?? false],
  );
  await insertSemantikChunks(client, size.chunks, perDoc, schema, `seed-${seed}`);
}

/**
 * Inserts exactly `count` chunks for documents in creation order, continuing each document's
 * chunk_index after its existing chunks, then refreshes documents.chunk_count. `tag` makes ids
 * unique between calls.
 */
export async function insertSemantikChunks(
  client: pg.ClientBase,
  count: number,
  perDoc: number,
  schema = 'public',
  tag = 'c',
): Promise<void> {
  const s = quoteIdent(schema);
  await client.query(
    `INSERT INTO ${s}.chunks (id, collection_id, document_id, chunking_config_id, chunk_index, content,
                              start_offset, end_offset, token_count, embedding_vector_id, created_at, meta)
     SELECT md5('chunk-' || $3 || '-' || d.id || '-' || i)::uuid::text, d.collection_id, d.id,
            CASE WHEN random() < 0.1 THEN NULL ELSE 1 + floor(random() * 5)::int END,
            d.chunk_count + i, c.content, i * 400, i * 400 + length(c.content),
            length(c.content) / 4, 'vec-' || md5($3 || d.id || i),
            d.created_at + i * interval '1 second',
            json_build_object('page', 1 + i / 3, 'section', 'S' || (i % 7))
       FROM (SELECT id, collection_id, chunk_count, created_at, 1 + floor(random() * (2 * $2 - 1))::int AS n
               FROM ${s}.documents ORDER BY created_at, id) d
      CROSS JOIN LATERAL generate_series(0, d.n - 1) i
      CROSS JOIN LATERAL (SELECT repeat(md5(d.id || i), 1 + floor(random() * 13)::int) AS content) c
      LIMIT $1`,
    [count, perDoc, tag],
  );
  await client.query(
    `UPDATE ${s}.documents d SET chunk_count = n.n
       FROM (SELECT document_id, count(*)::int AS n FROM ${s}.chunks GROUP BY document_id) n
      WHERE n.document_id = d.id AND d.chunk_count IS DISTINCT FROM n.n`,
  );
}

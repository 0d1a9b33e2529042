import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  allColumnsChecksum,
  chunksStrategy,
  defaultPartitionRows,
  misroutedRows,
} from '../helpers/partition.js';
import { growRealChunks } from '../helpers/partitionReal.js';
import { loadRealFixture } from '../helpers/realFixtures.js';

/**
 * Semantik's real schema drifted the way deployments drift: other constraint and index names,
 * extra columns of other types (with and without defaults), indexes of every kind (partial,
 * expression, GIN, hash, BRIN, INCLUDE, DESC, unique index, unique constraint), CHECK
 * constraints, a trigger, partition storage options, comments, grants, and views, a
 * materialized view and a function reading chunks. The family reads all of it from the catalog:
 * up, check, down (the drifted original exactly), up.
 */
const ROLE = `dbops_t_drift_${Math.random().toString(36).slice(2, 8)}`;

const DRIFT = `
ALTER TABLE chunks RENAME CONSTRAINT chunks_collection_id_fkey TO fk_chunks_collection;
ALTER INDEX chunks_pkey RENAME TO pk_chunks;
ALTER INDEX ix_chunks_created_at RENAME TO chunks_created_at_idx;
ALTER INDEX uq_chunks_collection_document_index RENAME TO chunks_doc_position_uq;
ALTER TABLE chunks ADD COLUMN language text DEFAULT 'en';
ALTER TABLE chunks ADD COLUMN score double precision;
ALTER TABLE chunks ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE chunks ADD COLUMN attrs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE chunks ADD COLUMN digest bytea;
ALTER TABLE chunks ADD COLUMN uid uuid DEFAULT gen_random_uuid();
ALTER TABLE chunks ADD COLUMN flags smallint NOT NULL DEFAULT 0;
ALTER TABLE chunks ADD COLUMN amount numeric(12,2);
ALTER TABLE chunks ADD COLUMN indexed_on date;
ALTER TABLE chunks ADD COLUMN weight real DEFAULT 1.5;
ALTER TABLE chunks ADD COLUMN tsv tsvector;
ALTER TABLE chunks ADD COLUMN title varchar(200) COLLATE "C";
UPDATE chunks SET score = chunk_index / 3.0, digest = decode(md5(id), 'hex'), tags = ARRAY['t' || (chunk_index % 3)],
       amount = chunk_index / 7.0, indexed_on = date '2025-01-01' + chunk_index % 30,
       tsv = to_tsvector('simple', left(content, 40)), attrs = jsonb_build_object('i', chunk_index),
       title = 'Title ' || chunk_index
 WHERE chunk_index % 2 = 0;
CREATE INDEX ix_chunks_big_tokens ON chunks (token_count) WHERE token_count > 40;
CREATE INDEX ix_chunks_lower_vec ON chunks (lower(embedding_vector_id));
CREATE INDEX ix_chunks_tags ON chunks USING gin (tags);
CREATE INDEX ix_chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX ix_chunks_doc_incl ON chunks (document_id) INCLUDE (chunk_index);
CREATE INDEX ix_chunks_created_desc ON chunks (created_at DESC NULLS LAST);
CREATE INDEX ix_chunks_vec_hash ON chunks USING hash (embedding_vector_id);
CREATE INDEX ix_chunks_created_brin ON chunks USING brin (created_at);
CREATE UNIQUE INDEX uq_chunks_uid ON chunks (uid, collection_id);
ALTER TABLE chunks ADD CONSTRAINT uq_chunks_vector UNIQUE (collection_id, embedding_vector_id);
ALTER TABLE chunks ADD CONSTRAINT ck_chunks_offsets CHECK (end_offset >= start_offset);
ALTER TABLE chunks ADD CONSTRAINT ck_chunks_flags CHECK (flags BETWEEN 0 AND 7);
DO $$ BEGIN FOR i IN 0..15 LOOP EXECUTE format('ALTER TABLE chunks_p%s SET (fillfactor = 90)', i); END LOOP; END $$;
COMMENT ON TABLE chunks IS 'text chunks of documents';
COMMENT ON COLUMN chunks.language IS 'ISO 639-1';
CREATE ROLE ${ROLE} NOLOGIN;
GRANT SELECT, INSERT ON chunks TO ${ROLE};
CREATE FUNCTION chunks_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.flags := NEW.flags | 1; RETURN NEW; END $$;
CREATE TRIGGER chunks_touch BEFORE UPDATE ON chunks FOR EACH ROW EXECUTE FUNCTION chunks_touch();
CREATE VIEW chunk_languages AS SELECT language, count(*) AS n FROM chunks GROUP BY language;
CREATE VIEW chunk_languages_top AS SELECT * FROM chunk_languages ORDER BY n DESC LIMIT 3;
CREATE MATERIALIZED VIEW chunk_tag_counts AS SELECT unnest(tags) AS tag, count(*) AS n FROM chunks GROUP BY 1 WITH NO DATA;
GRANT SELECT ON chunk_languages TO ${ROLE};
COMMENT ON VIEW chunk_languages IS 'rows per language';
CREATE VIEW partition_health AS SELECT tableoid::regclass::text AS partition_name, count(*) AS row_count FROM chunks GROUP BY 1;
CREATE VIEW partition_distribution AS SELECT max(row_count) AS max_chunks FROM partition_health;
CREATE FUNCTION get_partition_for_collection(collection_id varchar) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'legacy' $$;
CREATE FUNCTION chunks_of(cid varchar) RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM chunks WHERE collection_id = cid';
ANALYZE chunks;`;

let db: TestDatabase;
let before: string[];

beforeAll(async () => {
  db = await createTestDatabase('partition_drift');
  await loadRealFixture(db.client, 'partition_real.sql');
  await growRealChunks(db.client, 15);
  await db.client.query(DRIFT);
  before = await fullCatalogSnapshot(db.client, ['public']);
});
afterAll(async () => {
  await db.client.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
  await db.client.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => {});
  await db.drop();
});

describe('partition family on a drifted deployment of Semantik', () => {
  let checksum: string;

  it('up carries everything: columns, keys, every kind of index, CHECKs, trigger, options, grants, views', async () => {
    checksum = await allColumnsChecksum(db.client);
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout + up.stderr).toContain(
      'pk_chunks: PRIMARY KEY (id, collection_id) becomes PRIMARY KEY (id, collection_id, partition_key)',
    );
    expect(await chunksStrategy(db.client)).toBe('l');
    expect(await allColumnsChecksum(db.client)).toBe(checksum);
    const c = db.client;
    // The deployment's own partition_health / partition_distribution / get_partition_for_collection
    // were adopted and replaced by the family's versions.
    const { rows: adopted } = await c.query(
      `SELECT (SELECT count(*)::int FROM public.partition_health) AS health,
              (SELECT count(*)::int FROM dbops.adopted WHERE family = 'partition') AS saved,
              public.get_partition_for_collection('x') AS fn`,
    );
    expect(adopted[0]).toEqual({
      health: 100,
      saved: 8, // 7 adopted objects, and what 0006 replaced (its down puts it back)
      fn: expect.stringMatching(/^chunks_part_\d\d$/),
    });
    const { rows: indexes } = await c.query(
      `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def,
              (SELECT count(*)::int FROM pg_inherits h WHERE h.inhparent = i.indexrelid) AS attached
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = 'public.chunks'::regclass ORDER BY 1`,
    );
    const byName = new Map(indexes.map((r) => [r.name, r]));
    for (const [name, def] of [
      ['ix_chunks_big_tokens', 'USING btree (token_count) WHERE (token_count > 40)'],
      ['ix_chunks_lower_vec', 'USING btree (lower((embedding_vector_id)::text))'],
      ['ix_chunks_tags', 'USING gin (tags)'],
      ['ix_chunks_doc_incl', 'USING btree (document_id) INCLUDE (chunk_index)'],
      ['ix_chunks_created_desc', 'USING btree (created_at DESC NULLS LAST)'],
      ['ix_chunks_vec_hash', 'USING hash (embedding_vector_id)'],
      ['ix_chunks_created_brin', 'USING brin (created_at)'],
      ['uq_chunks_uid', 'USING btree (uid, collection_id, partition_key)'],
      [
        'chunks_doc_position_uq',
        'USING btree (collection_id, document_id, chunk_index, partition_key)',
      ],
      ['chunks_created_at_idx', 'USING btree (created_at)'],
    ]) {
      expect(byName.get(name)?.def, name).toContain(def);
      expect(byName.get(name)?.attached, name).toBe(101);
    }
    const { rows: cons } = await c.query(
      `SELECT conname || ' ' || pg_get_constraintdef(oid) AS c FROM pg_constraint
        WHERE conrelid = 'public.chunks'::regclass ORDER BY 1`,
    );
    expect(cons.map((r) => r.c)).toEqual(
      expect.arrayContaining([
        'ck_chunks_flags CHECK (((flags >= 0) AND (flags <= 7)))',
        'ck_chunks_offsets CHECK ((end_offset >= start_offset))',
        'fk_chunks_collection FOREIGN KEY (collection_id) REFERENCES collections(id) ON DELETE CASCADE',
        'pk_chunks PRIMARY KEY (id, collection_id, partition_key)',
        'uq_chunks_vector UNIQUE (collection_id, embedding_vector_id, partition_key)',
      ]),
    );
    const { rows: meta } = await c.query(
      `SELECT obj_description('public.chunks'::regclass, 'pg_class') AS comment,
              has_table_privilege('${ROLE}', 'public.chunks', 'INSERT') AS grant,
              (SELECT reloptions FROM pg_class WHERE oid = 'public.chunks_part_42'::regclass) AS options,
              (SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'public.chunks'::regclass AND tgname = 'chunks_touch') AS trigger,
              (SELECT relispopulated FROM pg_class WHERE oid = 'public.chunk_tag_counts'::regclass) AS populated,
              (SELECT count(*)::int FROM public.chunk_languages_top) AS top,
              public.chunks_of((SELECT collection_id FROM public.chunks LIMIT 1)) > 0 AS fn,
              (SELECT attcollation::regcollation::text FROM pg_attribute
                WHERE attrelid = 'public.chunks'::regclass AND attname = 'title') AS collation`,
    );
    expect(meta[0]).toEqual({
      comment: 'text chunks of documents',
      grant: true,
      options: ['fillfactor=90'],
      trigger: 1,
      populated: false,
      top: expect.any(Number),
      fn: true,
      collation: '"C"',
    });
    // A writer that does not know partition_key (nor the new columns): lands in its partition.
    const { rows: doc } = await c.query(
      'SELECT id, collection_id, chunking_config_id FROM public.documents LIMIT 1',
    );
    await c.query(
      `INSERT INTO public.chunks (id, collection_id, document_id, chunking_config_id, chunk_index, content, start_offset, end_offset)
       VALUES ('drift-old-writer', $1, $2, $3, 777777, 'x', 0, 1)`,
      [doc[0].collection_id, doc[0].id, doc[0].chunking_config_id],
    );
    expect(await misroutedRows(c)).toBe(0);
    expect(await defaultPartitionRows(c)).toBe(0);
    await c.query(`DELETE FROM public.chunks WHERE id = 'drift-old-writer'`);
  });

  it('check all partition: consistency checks ok', async () => {
    const check = await runCli(['check', 'all', 'partition', '--format', 'json'], { url: db.url });
    expect(check.code, check.stderr).toBe(0);
    const checks = JSON.parse(check.stdout).checks as { id: string; status: string }[];
    expect(
      checks.filter((c) => c.id !== 'partition.skew').map((c) => `${c.id} ${c.status}`),
    ).toEqual([
      'partition.schema ok',
      'partition.chunking-stats ok',
      'partition.duplicates ok',
      'partition.misrouted ok',
    ]);
  });

  it('down restores the drifted original exactly (full catalog, every row); up again works', async () => {
    const down = await runCli(['migrate', 'down', 'partition', '--all'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(diffCatalog(before, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
    expect(await allColumnsChecksum(db.client)).toBe(checksum);
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await allColumnsChecksum(db.client)).toBe(checksum);
  });
});

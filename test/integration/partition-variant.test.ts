import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import {
  baseTableColumns,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import {
  chunksStrategy,
  defaultPartitionRows,
  misroutedRows,
  partitionChecksOkAfterResync,
} from '../helpers/partition.js';
import { growRealChunks, startOldWriter } from '../helpers/partitionReal.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { dropRoles } from '../helpers/sequenceReal.js';

/**
 * Semantik's real schema (partition_real.sql) drifted the way an operator's database drifts:
 * every primary key, unique and foreign key constraint and index of chunks (parent and
 * partition level), collections and documents renamed (read from the catalog); on chunks extra
 * columns with data (jsonb NOT NULL DEFAULT, text[], a default), a CHECK, partial, expression and
 * GIN indexes, comments (table, columns, an index), grants to an extra role, an audit trigger
 * (AFTER INSERT OR UPDATE, per row) and an old trigger the operator disabled; views (`c.*` joined
 * to documents, one on it) and a materialized view. dbops reads it all from the catalog: up with
 * an old writer (no partition_key) running, check, down (the drifted original exactly: full
 * catalog and every row), up again. What it refuses is asserted too: a generated column, a NOT
 * VALID CHECK, functions on the chunks row type.
 */
const ROLE = `dbops_t_pvariant_${Math.random().toString(36).slice(2, 8)}`;
/** Chunks added per document to the fixture's 14,000 (900 documents). */
const GROWN = Number(process.env.DBOPS_PARTITION_VARIANT_PER_DOCUMENT ?? 30);
/** Ids of the writer's chunks start with this. */
const TAG = 'wv';

/** Renames every key, unique, foreign key and index to an operator's names, read from the catalog. */
const RENAMES = `
DO $$
DECLARE r record; n int := 0;
BEGIN
  FOR r IN SELECT con.conname, c.relname, con.contype FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            WHERE c.relname IN ('chunks', 'collections', 'documents') AND c.relnamespace = 'public'::regnamespace
              AND con.contype IN ('p', 'u', 'f') ORDER BY 1 LOOP
    n := n + 1;
    EXECUTE format('ALTER TABLE public.%I RENAME CONSTRAINT %I TO %I', r.relname, r.conname,
                   format('op_%s_%s_%s', r.contype, r.relname, n));
  END LOOP;
  FOR r IN SELECT ic.relname AS ix, c.relname FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
             JOIN pg_class c ON c.oid = x.indrelid
            WHERE c.relname IN ('chunks', 'collections', 'documents') AND c.relnamespace = 'public'::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid AND con.conrelid = c.oid)
            ORDER BY 1 LOOP
    n := n + 1;
    EXECUTE format('ALTER INDEX public.%I RENAME TO %I', r.ix, format('%s_by_%s', r.relname, n));
  END LOOP;
  FOR r IN SELECT c.relname AS part, con.conname FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            WHERE con.contype = 'f' AND c.relname ~ '^chunks_p[0-9]+$' AND c.relnamespace = 'public'::regnamespace LOOP
    EXECUTE format('ALTER TABLE public.%I RENAME CONSTRAINT %I TO %I', r.part, r.conname, r.part || '_' || r.conname);
  END LOOP;
  FOR r IN SELECT ic.relname AS ix, pc.relname AS parent, regexp_replace(c.relname, '^chunks_p', '') AS part
             FROM pg_inherits i JOIN pg_class ic ON ic.oid = i.inhrelid JOIN pg_class pc ON pc.oid = i.inhparent
             JOIN pg_index x ON x.indexrelid = ic.oid JOIN pg_class c ON c.oid = x.indrelid
            WHERE pc.relkind = 'I' AND c.relname ~ '^chunks_p[0-9]+$' AND c.relnamespace = 'public'::regnamespace LOOP
    EXECUTE format('ALTER INDEX public.%I RENAME TO %I', r.ix, format('%s__%s', r.parent, r.part));
  END LOOP;
END $$;`;

const drift = (role: string) => `${RENAMES}
ALTER TABLE chunks ADD COLUMN attrs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE chunks ADD COLUMN labels text[];
ALTER TABLE chunks ADD COLUMN source_kind text DEFAULT 'upload';
UPDATE chunks SET attrs = jsonb_build_object('page', chunk_index % 7), labels = ARRAY['l' || chunk_index % 4],
                  source_kind = CASE WHEN chunk_index % 5 = 0 THEN 'crawl' ELSE source_kind END
 WHERE chunk_index % 3 = 0;
ALTER TABLE chunks ADD CONSTRAINT ck_chunks_offsets CHECK (end_offset >= start_offset);
CREATE INDEX ix_chunks_crawled ON chunks (collection_id, created_at) WHERE source_kind = 'crawl';
CREATE INDEX chunks_page_idx ON chunks (((attrs ->> 'page')::int));
CREATE INDEX ops_chunks_labels ON chunks USING gin (labels);
ALTER TABLE documents ADD COLUMN reviewed boolean NOT NULL DEFAULT false;
UPDATE documents SET reviewed = true WHERE chunks_count % 2 = 0;

CREATE VIEW chunk_feed AS
  SELECT c.*, d.file_name, d.status AS document_status
    FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.token_count > 0;
CREATE VIEW chunk_feed_crawled AS SELECT * FROM chunk_feed WHERE source_kind = 'crawl';
CREATE MATERIALIZED VIEW chunk_label_counts AS
  SELECT collection_id, count(*) AS n, count(labels) AS labelled FROM chunks GROUP BY collection_id;

CREATE TABLE chunk_audit (
  audit_id bigserial PRIMARY KEY,
  chunk_id varchar NOT NULL,
  collection_id varchar NOT NULL,
  op text NOT NULL,
  via text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION audit_chunk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO chunk_audit (chunk_id, collection_id, op, via) VALUES (NEW.id, NEW.collection_id, TG_OP, TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE TRIGGER zz_audit_chunk AFTER INSERT OR UPDATE ON chunks FOR EACH ROW EXECUTE FUNCTION audit_chunk();
-- An old trigger the operator switched off: it must stay off.
CREATE FUNCTION legacy_mark_chunk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.source_kind := 'legacy'; RETURN NEW; END $$;
CREATE TRIGGER legacy_mark BEFORE INSERT OR UPDATE ON chunks FOR EACH ROW EXECUTE FUNCTION legacy_mark_chunk();
ALTER TABLE chunks DISABLE TRIGGER legacy_mark;

CREATE ROLE ${role} NOLOGIN;
GRANT SELECT, INSERT, UPDATE ON chunks, documents TO ${role};
GRANT SELECT ON chunk_feed, chunk_feed_crawled, chunk_label_counts TO ${role};
COMMENT ON TABLE chunks IS 'document chunks (Semantik)';
COMMENT ON COLUMN chunks.attrs IS 'operator attributes';
COMMENT ON COLUMN chunks.content IS 'chunk text';
COMMENT ON INDEX chunks_page_idx IS 'page lookups';
ANALYZE chunks, documents, collections;`;

/** What the family refuses (each with its reason), and the undoing of it. */
const REFUSED = `
ALTER TABLE chunks ADD COLUMN content_chars integer GENERATED ALWAYS AS (length(content)) STORED;
ALTER TABLE chunks ADD CONSTRAINT ck_chunks_tokens CHECK (token_count < 100000) NOT VALID;
CREATE FUNCTION chunk_tokens(c chunks) RETURNS integer LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN coalesce(c.token_count, 0) + cardinality(coalesce(c.labels, '{}')); END $$;
CREATE VIEW chunk_token_view AS SELECT c.id, c.collection_id, chunk_tokens(c) AS tokens FROM chunks c;
CREATE FUNCTION chunk_preview(c chunks) RETURNS text LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT c.chunk_index::text || ': ' || left(c.content, 12); END;`;
const ROW_TYPE_OBJECTS = `
CREATE FUNCTION chunk_tokens(c chunks) RETURNS integer LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN coalesce(c.token_count, 0) + cardinality(coalesce(c.labels, '{}')); END $$;
CREATE VIEW chunk_token_view AS SELECT c.id, c.collection_id, chunk_tokens(c) AS tokens FROM chunks c;`;
const UNDO_ROW_TYPE_OBJECTS = 'DROP VIEW chunk_token_view; DROP FUNCTION chunk_tokens(chunks);';
const UNDO_REFUSED = `${UNDO_ROW_TYPE_OBJECTS} DROP FUNCTION chunk_preview(chunks);
ALTER TABLE chunks DROP CONSTRAINT ck_chunks_tokens, DROP COLUMN content_chars;`;

/** Every key, unique and foreign key constraint and index of collections, documents, chunks and its partitions. */
async function keyAndIndexNames(client: TestDatabase['client']): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `WITH rels AS (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace
                      AND (relname IN ('collections', 'documents', 'chunks') OR relname ~ '^chunks_p[0-9]+$'))
     SELECT conrelid::regclass || '.' || conname AS name FROM pg_constraint WHERE conrelid IN (SELECT oid FROM rels) AND contype IN ('p', 'u', 'f')
     UNION SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid IN (SELECT oid FROM rels)
     ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

describe("partition on a drifted deployment of Semantik's real schema", () => {
  let db: TestDatabase;
  let catalogBefore: string[];
  /** Every base table with its columns before up (the "original columns"). */
  let tables: Map<string, string[]>;
  let auditBefore: number;
  let before: Record<string, string>;
  /** Every chunk id the writer inserted (kept or deleted later), and its updates. */
  const written = { ids: [] as string[], kept: 0, updates: 0, afterSwap: 0 };
  /** Names of the keys, foreign keys and indexes of the three tables (and chunks' partitions) before the drift. */
  let fixtureNames: string[];
  const journal: Record<string, unknown>[] = [];

  /**
   * Checksums of every base table over its original columns: chunks without the writer's rows
   * (the writer touches only its own), the audit rows that existed before up, everything else
   * whole.
   */
  async function checksums(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [table, columns] of tables) {
      const where =
        table === 'public.chunks'
          ? `t.id NOT LIKE '${TAG}-%'`
          : table === 'public.chunk_audit'
            ? `t.audit_id <= ${auditBefore}`
            : undefined;
      out[table] = await tableChecksum(db.client, table, { columns, where });
    }
    return out;
  }
  async function record(step: string, code: number | null, extra: object = {}) {
    const now = await checksums();
    const changed = Object.keys(before).filter((k) => now[k] !== before[k]);
    journal.push({ step, exit: code, changedSinceBeforeUp: changed, ...extra });
  }
  /** The audit rows written since before up: [op, via table, count], and the chunk ids inserted. */
  async function auditSince() {
    const { rows } = await db.client.query<{ op: string; via: string; n: number }>(
      `SELECT op, CASE WHEN via = 'chunks_default' THEN via ELSE 'partition' END AS via, count(*)::int AS n
         FROM chunk_audit WHERE audit_id > $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [auditBefore],
    );
    const ids = await db.client.query<{ id: string }>(
      `SELECT chunk_id AS id FROM chunk_audit WHERE audit_id > $1 AND op = 'INSERT' ORDER BY 1`,
      [auditBefore],
    );
    return { ops: rows, insertedIds: ids.rows.map((r) => r.id) };
  }

  beforeAll(async () => {
    db = await createTestDatabase('partition_variant');
    await loadRealFixture(db.client, 'partition_real.sql');
    await growRealChunks(db.client, GROWN);
    fixtureNames = await keyAndIndexNames(db.client);
    await db.client.query(drift(ROLE));
    // A few application inserts before dbops: the audit table has rows of its own.
    await db.client.query(
      `INSERT INTO chunks (id, collection_id, document_id, chunking_config_id, chunk_index, content,
                           start_offset, end_offset, labels)
       SELECT 'app-' || d.id, d.collection_id, d.id, d.chunking_config_id, 5000, 'before dbops', 0, 12, ARRAY['pre']
         FROM (SELECT * FROM documents ORDER BY id LIMIT 5) d`,
    );
    auditBefore = Number(
      (await db.client.query('SELECT max(audit_id) AS n FROM chunk_audit')).rows[0].n,
    );
    catalogBefore = await fullCatalogSnapshot(db.client, ['public']);
    // chunks' partitions are read through chunks (their names change with the layout).
    tables = new Map(
      [...(await baseTableColumns(db.client, 'public'))].filter(
        ([t]) => !/^public\.chunks_p\d+$/.test(t),
      ),
    );
    before = await checksums();
  }, 120_000);

  afterAll(async () => {
    console.log(`drifted partition_real.sql + ${GROWN}/document:\n${JSON.stringify(journal)}`);
    await db?.drop();
    await dropRoles(db.url, [ROLE]);
  });

  it('the drift is there: no name the fixture gave, extra columns with data, views, the audit trigger', async () => {
    const names = await keyAndIndexNames(db.client);
    expect(names.length).toBe(fixtureNames.length + 3 * 17); // the 3 indexes added, on chunks and its 16 partitions
    expect(names.filter((n) => fixtureNames.includes(n))).toEqual([]);
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM chunks WHERE labels IS NOT NULL) > 1000 AS labelled,
              (SELECT count(*)::int FROM chunk_feed_crawled) > 0 AS feed,
              (SELECT count(*)::int FROM chunk_audit) AS audited,
              (SELECT tgenabled FROM pg_trigger WHERE tgname = 'legacy_mark' AND tgrelid = 'chunks'::regclass) AS legacy`,
    );
    expect(rows[0]).toEqual({ labelled: true, feed: true, audited: 5, legacy: 'D' });
  });

  it('refused in one round, exit 2, nothing changed: a generated column, a NOT VALID CHECK, functions on the chunks row type (with a view calling one)', async () => {
    await db.client.query(REFUSED);
    const snap = await fullCatalogSnapshot(db.client, ['public']);
    let up: Awaited<ReturnType<typeof runCli>>;
    let after: string[];
    try {
      up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
      after = await fullCatalogSnapshot(db.client, ['public']);
    } finally {
      // Undone whatever happens, so the other tests run on the drift.
      await db.client.query(UNDO_REFUSED);
    }
    expect(up.code).toBe(2);
    const problems = up.stderr
      .split('\n')
      .filter((l) => l.startsWith('  - '))
      .map((l) => l.slice(4));
    // Before: a generated column also gave 17 "default value ... depends on public.chunks" lines
    // (its expression, on the table and each partition), and chunk_tokens was not refused: the
    // swap failed on the view calling it ("function chunk_tokens(chunks) does not exist").
    expect(problems).toEqual([
      'constraint ck_chunks_tokens on public.chunks is NOT VALID: the copy would validate it (and down could not restore it unvalidated); ALTER TABLE public.chunks VALIDATE CONSTRAINT ck_chunks_tokens first',
      'column public.chunks.content_chars is a generated column: not carried yet',
      'function chunk_preview(chunks) depends on public.chunks and would keep the old table (only views and materialized views are recreated): drop it before, recreate it after',
      'function chunk_tokens(chunks) uses the row type of public.chunks and would keep the old table (only views and materialized views are recreated): drop it before, recreate it after',
    ]);
    expect(snap).toEqual(after);
    expect(diffCatalog(catalogBefore, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
  });

  it('up with an old writer running: exit 0; the audit trigger saw exactly the writer, once per write, and never dbops', async () => {
    const writerClient = await db.connect();
    const { rows: docs } = await db.client.query(
      'SELECT id, collection_id, chunking_config_id FROM documents ORDER BY id LIMIT 200',
    );
    const writer = startOldWriter(writerClient, docs, TAG);
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    // Keep writing a moment after up: those inserts pass through chunks_default.
    const afterUp = writer.result.inserted.length;
    while (writer.result.inserted.length < afterUp + 20)
      await new Promise((r) => setTimeout(r, 20));
    const w = await writer.stop();
    await writerClient.end();
    written.ids = [...w.inserted, ...w.deleted].map((r) => r.id).sort();
    written.kept = w.inserted.length;
    written.updates = w.updates;
    written.afterSwap = w.inserted.filter((r) => r.routedTo === 'chunks_default').length;
    await record('up (old writer running)', up.code, {
      inserted: written.ids.length,
      updates: w.updates,
      deletes: w.deletes,
      throughDefault: written.afterSwap,
    });
    expect(up.code, up.stderr).toBe(0);
    expect(w.errors).toEqual([]);
    expect(await chunksStrategy(db.client)).toBe('l');
    expect(written.afterSwap).toBeGreaterThanOrEqual(20);
    expect(await misroutedRows(db.client)).toBe(0);
    expect(await defaultPartitionRows(db.client)).toBe(0);
    // Not one audit row for the rows dbops copied, caught up or moved; one per write of the
    // application, on the partition the row ends in (before the fix a write through
    // chunks_default was audited twice, once there with partition_key -1).
    expect(await auditSince()).toEqual({
      ops: [
        { op: 'INSERT', via: 'partition', n: written.ids.length },
        ...(written.updates > 0 ? [{ op: 'UPDATE', via: 'partition', n: written.updates }] : []),
      ],
      insertedIds: written.ids,
    });
    // The rows that existed before up are all there, unchanged.
    const now = await checksums();
    expect(now['public.chunks']).toBe(before['public.chunks']);
  });

  it('the drift is carried: views, materialized view, grants, comments, the disabled trigger stays off', async () => {
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM chunk_feed_crawled) =
                (SELECT count(*)::int FROM chunks c JOIN documents d ON d.id = c.document_id
                  WHERE c.token_count > 0 AND c.source_kind = 'crawl') AS feed,
              (SELECT count(*)::int FROM chunk_label_counts) AS label_collections,
              has_table_privilege('${ROLE}', 'chunks', 'UPDATE') AS grant_chunks,
              has_table_privilege('${ROLE}', 'chunk_feed_crawled', 'SELECT') AS grant_view,
              obj_description('chunks'::regclass, 'pg_class') AS table_comment,
              obj_description('chunks_page_idx'::regclass, 'pg_class') AS index_comment,
              (SELECT count(*)::int FROM chunks WHERE source_kind = 'legacy') AS legacy_marked,
              (SELECT count(*)::int FROM pg_trigger WHERE tgname = 'zz_audit_chunk' AND tgenabled = 'D') AS audit_off,
              (SELECT string_agg(DISTINCT tgenabled::text, ',') FROM pg_trigger WHERE tgname = 'legacy_mark') AS legacy`,
    );
    expect(rows[0]).toEqual({
      feed: true,
      label_collections: 30,
      grant_chunks: true,
      grant_view: true,
      table_comment: 'document chunks (Semantik)',
      index_comment: 'page lookups',
      legacy_marked: 0,
      // Only on the DEFAULT partition, which rows only pass through.
      audit_off: 1,
      legacy: 'D',
    });
    // A function on the row type of the new chunks works, and down refuses while it exists.
    await db.client.query(ROW_TYPE_OBJECTS);
    const { rows: tokens } = await db.client.query(
      `SELECT sum(tokens)::bigint = (SELECT sum(coalesce(token_count, 0) + cardinality(coalesce(labels, '{}'))) FROM chunks) AS ok
         FROM chunk_token_view`,
    );
    expect(tokens[0].ok).toBe(true);
    const snap = await fullCatalogSnapshot(db.client, ['public']);
    const down = await runCli(['migrate', 'down', 'partition', '--all'], { url: db.url });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(
      'function chunk_tokens(chunks) uses the row type of public.chunks and would keep the old table',
    );
    expect(await fullCatalogSnapshot(db.client, ['public'])).toEqual(snap);
    await db.client.query(UNDO_ROW_TYPE_OBJECTS);
  });

  it('check all partition: exit 0, every check ran and is ok (after resync all)', async () => {
    const { first, second } = await partitionChecksOkAfterResync(db.url);
    await record('check all partition', 0, { first, second });
  });

  it('down --all: the drifted catalog exactly, every base table row as before, no audit row; up again, check again', async () => {
    const audited = await auditSince();
    const down = await runCli(['migrate', 'down', 'partition', '--all'], { url: db.url });
    const diff = diffCatalog(catalogBefore, await fullCatalogSnapshot(db.client, ['public']));
    await record('down --all', down.code, {
      catalogLines: catalogBefore.length,
      diffRemoved: diff.removed.length,
      diffAdded: diff.added.length,
    });
    expect(down.code, down.stderr).toBe(0);
    expect(diff).toEqual({ removed: [], added: [] });
    expect(await checksums()).toEqual(before);
    expect(await auditSince()).toEqual(audited);
    const kept = await db.client.query(
      `SELECT count(*)::int AS n FROM chunks WHERE id LIKE '${TAG}-%'`,
    );
    expect(kept.rows[0].n).toBe(written.kept);
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    await record('up again', up.code);
    expect(up.code, up.stderr).toBe(0);
    expect(await checksums()).toEqual(before);
    expect(await auditSince()).toEqual(audited);
    expect(await misroutedRows(db.client)).toBe(0);
    const check = await runCli(['check', 'all', 'partition', '--format', 'json'], { url: db.url });
    expect(check.code, check.stderr).toBe(0);
    expect(
      (JSON.parse(check.stdout).checks as { id: string; status: string }[])
        .filter((c) => c.id !== 'partition.skew')
        .map((c) => `${c.id} ${c.status}`),
    ).toEqual([
      'partition.schema ok',
      'partition.chunking-stats ok',
      'partition.duplicates ok',
      'partition.misrouted ok',
    ]);
  });
});

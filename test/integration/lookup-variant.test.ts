import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import {
  baseTableColumns,
  createTestDatabase,
  stepJournal,
  type TestDatabase,
  tableChecksums,
} from '../helpers/db.js';
import { lookupDrift, pushWhile } from '../helpers/lookup.js';
import { QUEEN_LOOKUP_VERSIONS } from '../helpers/lookupQueen.js';
import { loadRealFixture } from '../helpers/realFixtures.js';

/**
 * Queen's real schema (lookup_real.sql) drifted the way an operator's database drifts: every
 * key, unique, foreign key and index of queues, partitions and messages renamed (and the foreign
 * keys other tables hold on messages), extra columns with data (jsonb, text[], defaults), a CHECK
 * and a NOT VALID CHECK, extra partial and expression indexes, table options, views (with
 * `*`-expanded columns, one on another, one calling a function that takes the messages row
 * type), a materialized view, grants (table, column, function) to an extra role, comments, and an
 * application audit trigger on messages inserts. dbops reads it all from the catalog: up (Queen
 * pushing meanwhile), check, resync of a drifted lookup, down (the drifted original exactly: full
 * catalog and every row), up again.
 */
const RUN = Math.random().toString(36).slice(2, 8);
const ROLE = `dbops_t_queendrift_${RUN}`;
const SCHEMAS = ['queen', 'public'];

const drift = (role: string) => `
ALTER TABLE queen.queues RENAME CONSTRAINT queues_pkey TO pk_queues;
ALTER TABLE queen.queues RENAME CONSTRAINT queues_name_key TO uq_queue_name;
ALTER INDEX queen.idx_queues_name RENAME TO queues_name_btree;
ALTER INDEX queen.idx_queues_priority RENAME TO queues_priority_idx;
ALTER TABLE queen.partitions RENAME CONSTRAINT partitions_pkey TO pk_partitions;
ALTER TABLE queen.partitions RENAME CONSTRAINT partitions_queue_id_fkey TO fk_partitions_queue;
ALTER TABLE queen.partitions RENAME CONSTRAINT partitions_queue_id_name_key TO uq_partition_per_queue;
ALTER INDEX queen.idx_partitions_queue_name RENAME TO partitions_queue_name_idx;
ALTER INDEX queen.idx_partitions_last_activity RENAME TO partitions_activity_idx;
ALTER TABLE queen.messages RENAME CONSTRAINT messages_pkey TO pk_messages;
ALTER TABLE queen.messages RENAME CONSTRAINT messages_partition_id_fkey TO fk_messages_partition;
ALTER INDEX queen.messages_partition_transaction_unique RENAME TO uq_messages_partition_tx;
ALTER INDEX queen.idx_messages_partition_created_id RENAME TO messages_partition_newest_idx;
ALTER INDEX queen.idx_messages_transaction_id RENAME TO messages_tx_idx;
ALTER INDEX queen.idx_messages_trace_id RENAME TO messages_trace_idx;
ALTER INDEX queen.idx_messages_created_at RENAME TO messages_created_idx;
ALTER TABLE queen.dead_letter_queue RENAME CONSTRAINT dead_letter_queue_message_id_fkey TO fk_dlq_message;
ALTER TABLE queen.message_traces RENAME CONSTRAINT message_traces_message_id_fkey TO fk_traces_message;

ALTER TABLE queen.messages ADD COLUMN meta jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE queen.messages ADD COLUMN tags text[];
ALTER TABLE queen.messages ADD COLUMN priority smallint NOT NULL DEFAULT 0;
ALTER TABLE queen.messages ADD COLUMN source text DEFAULT 'api';
ALTER TABLE queen.messages ADD CONSTRAINT ck_messages_priority CHECK (priority BETWEEN 0 AND 9);
ALTER TABLE queen.messages SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE queen.partitions ADD COLUMN labels jsonb;
ALTER TABLE queen.partitions ADD COLUMN archived boolean NOT NULL DEFAULT false;
ALTER TABLE queen.partitions ADD CONSTRAINT ck_partitions_name CHECK (name <> '') NOT VALID;
ALTER TABLE queen.queues ADD COLUMN owner_team text DEFAULT 'platform';
UPDATE queen.messages SET meta = jsonb_build_object('kind', CASE WHEN (payload ->> 'amount')::int % 2 = 0 THEN 'even' ELSE 'odd' END),
       tags = CASE WHEN (payload ->> 'order')::int % 3 = 0 THEN ARRAY['t' || (payload ->> 'order')::int % 5, 'x'] END,
       priority = ((payload ->> 'order')::int % 10)::smallint
 WHERE (payload ->> 'order')::int % 2 = 0;
UPDATE queen.partitions SET labels = jsonb_build_object('tier', 'gold'), archived = name LIKE '%7'
 WHERE name <> 'Default';
UPDATE queen.queues SET owner_team = NULL WHERE namespace IS NULL;
CREATE INDEX ix_messages_urgent ON queen.messages (partition_id, created_at) WHERE priority >= 8;
CREATE INDEX ix_messages_kind ON queen.messages ((meta ->> 'kind'));
CREATE INDEX ix_messages_tags ON queen.messages USING gin (tags);
CREATE INDEX ix_partitions_live ON queen.partitions (queue_id) WHERE NOT archived;
CREATE INDEX ix_queues_lower_name ON queen.queues (lower(name));

CREATE VIEW queen.message_feed AS
  SELECT m.*, p.name AS partition_name, q.name AS queue_name
    FROM queen.messages m JOIN queen.partitions p ON p.id = m.partition_id JOIN queen.queues q ON q.id = p.queue_id;
CREATE VIEW queen.message_feed_urgent AS SELECT * FROM queen.message_feed WHERE priority >= 8;
CREATE FUNCTION queen.message_label(m queen.messages) RETURNS text LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT m.transaction_id || ':' || coalesce(m.meta ->> 'kind', '-'); END;
CREATE VIEW queen.message_labels AS SELECT m.id, m.partition_id, queen.message_label(m) AS label FROM queen.messages m;
CREATE MATERIALIZED VIEW queen.partition_totals AS
  SELECT partition_id, max(created_at) AS newest, count(*) AS n FROM queen.messages GROUP BY partition_id;

CREATE TABLE queen.message_audit (
  audit_id bigserial PRIMARY KEY,
  message_id uuid NOT NULL,
  partition_id uuid,
  op text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION queen.audit_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO queen.message_audit (message_id, partition_id, op) VALUES (NEW.id, NEW.partition_id, TG_OP);
  RETURN NULL;
END $$;
CREATE TRIGGER zz_audit_message AFTER INSERT ON queen.messages FOR EACH ROW EXECUTE FUNCTION queen.audit_message();

CREATE ROLE ${role} NOLOGIN;
GRANT SELECT, INSERT ON queen.messages, queen.partitions, queen.queues TO ${role};
GRANT UPDATE (meta, tags) ON queen.messages TO ${role};
GRANT SELECT ON queen.message_feed, queen.message_feed_urgent TO ${role};
GRANT EXECUTE ON FUNCTION queen.message_label(queen.messages) TO ${role};
COMMENT ON TABLE queen.messages IS 'Queen messages';
COMMENT ON COLUMN queen.messages.meta IS 'client metadata';
COMMENT ON COLUMN queen.partitions.archived IS 'no longer pushed to';
COMMENT ON INDEX queen.messages_partition_newest_idx IS 'pop and lookup probe';
ANALYZE queen.queues, queen.partitions, queen.messages;`;

/** Batches of 40 partitions (480 in the fixture): many batches, so pushes run during them. */
function config(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 40 }));
  return cwd;
}

/**
 * What Queen's own triggers change on every push (partitions.last_activity,
 * partition_consumers.pending_estimate, queue_watermarks): left out of the checksums, as are the
 * pushed messages (transaction_id 'w-...') and their audit rows.
 */
const PUSH_TOUCHED: Record<string, string[]> = {
  'queen.partitions': ['last_activity'],
  'queen.partition_consumers': ['pending_estimate', 'last_stats_update'],
  'queen.queue_watermarks': ['max_created_at', 'updated_at'],
};

interface CheckDoc {
  status: string;
  checks: { id: string; status: string; count?: number }[];
}

describe("lookup on a drifted deployment of Queen's real schema", () => {
  let db: TestDatabase;
  let catalogBefore: string[];
  /** Every base table of queen with its columns before up. */
  let tables: Map<string, string[]>;
  let auditBefore: number;
  const cwd = config();
  const cli = (...args: string[]) => runCli(args, { url: db.url, cwd });
  const checkJson = async (...args: string[]) => {
    const r = await cli('--format', 'json', 'check', ...args);
    return { code: r.code, doc: JSON.parse(r.stdout) as CheckDoc, out: r.stdout + r.stderr };
  };

  /** Checksums of every base table of queen before up, without what pushes change. */
  async function checksums(): Promise<Record<string, string>> {
    return tableChecksums(db.client, tables, (table, columns) => ({
      columns: columns.filter((c) => !(PUSH_TOUCHED[table] ?? []).includes(c)),
      where:
        table === 'queen.messages'
          ? `t.transaction_id NOT LIKE 'w-%'`
          : table === 'queen.message_audit'
            ? `t.audit_id <= ${auditBefore}`
            : undefined,
    }));
  }
  const steps = stepJournal(checksums);
  const { record, journal } = steps;

  beforeAll(async () => {
    db = await createTestDatabase('lookup_variant');
    await loadRealFixture(db.client, 'lookup_real.sql');
    await db.client.query(drift(ROLE));
    // Application pushes before dbops: the audit table has rows of its own.
    await db.client.query(
      `INSERT INTO queen.messages (transaction_id, partition_id, payload, tags, priority)
       SELECT 'pre-' || g, md5('partition' || g)::uuid, '{}', ARRAY['pre'], 9 FROM generate_series(1, 5) g`,
    );
    auditBefore = Number(
      (await db.client.query('SELECT max(audit_id) AS n FROM queen.message_audit')).rows[0].n,
    );
    catalogBefore = await fullCatalogSnapshot(db.client, SCHEMAS);
    tables = await baseTableColumns(db.client, 'queen');
    steps.before = await checksums();
  }, 120_000);

  afterAll(async () => {
    console.log(`drifted lookup_real.sql:\n${JSON.stringify(journal, null, 1)}`);
    await db?.client.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
    await db?.client.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => {});
    await db?.drop();
  });

  it('the drift is there: renamed keys, extra columns with data, views, grants', async () => {
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM queen.messages WHERE tags IS NOT NULL) AS tagged,
              (SELECT count(*)::int FROM queen.message_feed_urgent) > 0 AS feed,
              (SELECT conname FROM pg_constraint WHERE conrelid = 'queen.queues'::regclass AND contype = 'u') AS uq,
              (SELECT count(*)::int FROM queen.message_audit) AS audit`,
    );
    expect(rows[0]).toEqual({
      tagged: expect.any(Number),
      feed: true,
      uq: 'uq_queue_name',
      audit: 5,
    });
    expect(rows[0].tagged).toBeGreaterThan(1000);
    expect(catalogBefore.filter((l) => l.includes('partition_lookup'))).toEqual([]);
  });

  it('up while Queen pushes: exit 0, the lookup exact, the audit trigger sees the pushes only', async () => {
    const { result: up, pushes, errors } = await pushWhile(db, 4, cli('migrate', 'up', 'lookup'));
    const pushed = Number(
      (
        await db.client.query(
          `SELECT count(*) AS n FROM queen.messages WHERE transaction_id LIKE 'w-%'`,
        )
      ).rows[0].n,
    );
    const after = await record('up (4 writers pushing)', up.code, { pushes, pushed });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(errors).toEqual([]);
    expect(pushes).toBeGreaterThan(0);
    expect(await lookupDrift(db.client)).toBe(0);
    expect(after).toEqual(steps.before);
    // One audit row per pushed message, nothing for dbops' own work.
    const audit = await db.client.query(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE m.transaction_id LIKE 'w-%' AND a.partition_id = m.partition_id)::int AS pushed
         FROM queen.message_audit a LEFT JOIN queen.messages m ON m.id = a.message_id
        WHERE a.audit_id > $1`,
      [auditBefore],
    );
    expect(audit.rows[0]).toEqual({ n: pushed, pushed });
    // dbops' table references the renamed keys; the drift is still there and still works.
    const { rows } = await db.client.query(
      `SELECT (SELECT array_agg(format('%s -> %s', conname, confrelid::regclass) ORDER BY conname)
                 FROM pg_constraint WHERE conrelid = 'queen.partition_lookup'::regclass AND contype = 'f') AS fks,
              (SELECT count(*)::int FROM queen.message_feed_urgent) > 0 AS feed,
              (SELECT label FROM queen.message_labels WHERE partition_id = md5('partition1')::uuid
                ORDER BY label LIMIT 1) AS label,
              has_column_privilege('${ROLE}', 'queen.messages', 'meta', 'UPDATE') AS colgrant,
              col_description('queen.messages'::regclass, (SELECT attnum FROM pg_attribute
                WHERE attrelid = 'queen.messages'::regclass AND attname = 'meta')) AS comment`,
    );
    expect(rows[0]).toEqual({
      fks: [
        'partition_lookup_partition_id_fkey -> queen.partitions',
        'partition_lookup_queue_name_fkey -> queen.queues',
      ],
      feed: true,
      label: expect.stringMatching(/^(pre|tx|w)-.*:(even|odd|-)$/),
      colgrant: true,
      comment: 'client metadata',
    });
  }, 120_000);

  it('check all lookup: every check runs and is ok (exit 0)', async () => {
    const { code, doc, out } = await checkJson('all', 'lookup');
    await record('check all lookup', code);
    expect(code, out).toBe(0);
    expect(doc.status).toBe('ok');
    expect(doc.checks.map((c) => [c.id, c.status])).toEqual([
      ['lookup.schema', 'ok'],
      ['lookup.ahead', 'ok'],
      ['lookup.behind', 'ok'],
      ['lookup.missing', 'ok'],
      ['lookup.orphaned', 'ok'],
    ]);
  });

  it('resync partition-lookup repairs a drifted lookup (and only the lookup)', async () => {
    // On disjoint partitions: 3 rows gone, 4 behind, 2 ahead, 2 moved to another queue, and 2
    // extra rows for another queue beside the right one.
    await db.client.query(`
      WITH pick AS (SELECT partition_id, row_number() OVER (ORDER BY partition_id) AS n FROM queen.partition_lookup),
      gone AS (DELETE FROM queen.partition_lookup pl USING pick WHERE pick.partition_id = pl.partition_id AND pick.n <= 3),
      behind AS (UPDATE queen.partition_lookup pl SET last_message_created_at = last_message_created_at - interval '1 day'
                   FROM pick WHERE pick.partition_id = pl.partition_id AND pick.n BETWEEN 4 AND 7),
      ahead AS (UPDATE queen.partition_lookup pl SET last_message_created_at = last_message_created_at + interval '1 day'
                  FROM pick WHERE pick.partition_id = pl.partition_id AND pick.n BETWEEN 8 AND 9),
      moved AS (UPDATE queen.partition_lookup pl
                   SET queue_name = (SELECT name FROM queen.queues q WHERE q.name <> pl.queue_name ORDER BY name LIMIT 1)
                  FROM pick WHERE pick.partition_id = pl.partition_id AND pick.n BETWEEN 10 AND 11)
      INSERT INTO queen.partition_lookup (queue_name, partition_id, last_message_id, last_message_created_at)
      SELECT (SELECT name FROM queen.queues q WHERE q.name <> pl.queue_name ORDER BY name LIMIT 1),
             pl.partition_id, pl.last_message_id, pl.last_message_created_at
        FROM queen.partition_lookup pl JOIN pick USING (partition_id) WHERE pick.n BETWEEN 12 AND 13`);
    const found = await checkJson('consistency', 'lookup');
    expect(found.code, found.out).toBe(1);
    expect(found.doc.checks.map((c) => [c.id, c.status, c.count])).toEqual([
      ['lookup.ahead', 'fail', 2],
      ['lookup.behind', 'fail', 4],
      ['lookup.missing', 'fail', 5],
      ['lookup.orphaned', 'warn', 4],
    ]);
    const resync = await cli(
      '--format',
      'json',
      'resync',
      'partition-lookup',
      '--batch-size',
      '40',
    );
    await record('resync partition-lookup', resync.code);
    expect(resync.code, resync.stdout + resync.stderr).toBe(0);
    // 480 partitions in batches of 40: the batched lock-then-repair path (the last one empty).
    expect(JSON.parse(resync.stdout).targets[0]).toMatchObject({
      id: 'partition-lookup',
      status: 'done',
      numbers: { inserted: 5, updated: 6, deleted: 4, batches: 13 },
    });
    expect(await lookupDrift(db.client)).toBe(0);
    expect(await checksums()).toEqual(steps.before);
    const check = await checkJson('consistency', 'lookup');
    expect(check.code, check.out).toBe(0);
    expect(check.doc.checks).toHaveLength(4);
  });

  it("down stops at the step that would drop an operator's view's table, and never advises CASCADE", async () => {
    // The operator built a view on dbops' table while it was applied. PostgreSQL's own hint
    // ("Use DROP ... CASCADE") would drop it; dbops names the view and says to save and drop it.
    await db.client.query('CREATE VIEW public.op_newest AS SELECT * FROM queen.partition_lookup');
    const applied = await fullCatalogSnapshot(db.client, SCHEMAS);
    const down = await cli('migrate', 'down', 'lookup', '--all');
    expect(down.code, down.stdout + down.stderr).toBe(2);
    expect(down.stderr).toContain('view public.op_newest depends on table partition_lookup');
    expect(down.stderr).toContain('dbops never drops with CASCADE');
    expect(down.stderr).not.toContain('Use DROP ... CASCADE');
    expect(down.stderr).not.toMatch(/\n\s+at /);
    // 0002 (the backfill's marker) reverted, 0001's failed down rolled back: re-apply to compare.
    const up = await cli('migrate', 'up', 'lookup');
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(diffCatalog(applied, await fullCatalogSnapshot(db.client, SCHEMAS))).toEqual({
      removed: [],
      added: [],
    });
    await db.client.query('DROP VIEW public.op_newest');
  });

  it('down --all: the drifted catalog exactly, every base table row as before; up again', async () => {
    const down = await cli('migrate', 'down', 'lookup', '--all');
    const diff = diffCatalog(catalogBefore, await fullCatalogSnapshot(db.client, SCHEMAS));
    await record('down --all', down.code, {
      catalogLines: catalogBefore.length,
      diffRemoved: diff.removed.length,
      diffAdded: diff.added.length,
    });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(diff).toEqual({ removed: [], added: [] });
    expect(await baseTableColumns(db.client, 'queen')).toEqual(tables);
    expect(await checksums()).toEqual(steps.before);
    const { result: up, errors } = await pushWhile(db, 4, cli('migrate', 'up', 'lookup'));
    await record('up again (4 writers pushing)', up.code);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(errors).toEqual([]);
    expect(await lookupDrift(db.client)).toBe(0);
    const check = await checkJson('all', 'lookup');
    expect(check.code, check.out).toBe(0);
    expect(check.doc.checks.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  }, 120_000);
});

describe("lookup adopting Queen's own partition_lookup on the drifted deployment", () => {
  let db: TestDatabase;
  const grantee = `dbops_t_queendrift_a_${RUN}`;
  /** Queen's table as an operator keeps it: renamed keys, an extra column, a view, grants. */
  const LOOKUP_DRIFT = `
ALTER TABLE queen.partition_lookup RENAME CONSTRAINT partition_lookup_pkey TO pk_partition_lookup;
ALTER TABLE queen.partition_lookup RENAME CONSTRAINT partition_lookup_queue_name_partition_id_key TO uq_lookup_queue_partition;
ALTER TABLE queen.partition_lookup RENAME CONSTRAINT partition_lookup_queue_name_fkey TO fk_lookup_queue;
ALTER TABLE queen.partition_lookup RENAME CONSTRAINT partition_lookup_partition_id_fkey TO fk_lookup_partition;
ALTER INDEX queen.idx_partition_lookup_partition_id RENAME TO lookup_partition_idx;
ALTER TABLE queen.partition_lookup ADD COLUMN note text DEFAULT 'queen';
UPDATE queen.partition_lookup SET note = NULL WHERE queue_name = 'orders-3';
CREATE VIEW queen.queue_heads AS
  SELECT pl.*, q.priority FROM queen.partition_lookup pl JOIN queen.queues q ON q.name = pl.queue_name;
GRANT SELECT ON queen.partition_lookup, queen.queue_heads TO ${grantee};
GRANT UPDATE (note) ON queen.partition_lookup TO ${grantee};
COMMENT ON TABLE queen.partition_lookup IS 'Queen pop index';
COMMENT ON COLUMN queen.partition_lookup.note IS 'operator note';`;

  beforeAll(async () => {
    db = await createTestDatabase('lookup_variant_adopt');
    await loadRealFixture(db.client, 'lookup_real.sql');
    await db.client.query(drift(grantee));
    await db.client.query(QUEEN_LOOKUP_VERSIONS[0]!.sql);
    await db.client.query(LOOKUP_DRIFT);
  }, 120_000);

  afterAll(async () => {
    await db?.client.query(`DROP OWNED BY ${grantee}`).catch(() => {});
    await db?.client.query(`DROP ROLE IF EXISTS ${grantee}`).catch(() => {});
    await db?.drop();
  });

  it('up adopts it in place, check passes, down gives back the drifted table exactly', async () => {
    const cli = (...args: string[]) => runCli(args, { url: db.url });
    const catalog = await fullCatalogSnapshot(db.client, SCHEMAS);
    const tables = await baseTableColumns(db.client, 'queen');
    const sums = () => tableChecksums(db.client, tables);
    const before = await sums();
    const up = await cli('migrate', 'up', 'lookup');
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(await lookupDrift(db.client)).toBe(0);
    const check = await cli('check', 'all', 'lookup');
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM queen.queue_heads) AS heads,
              has_column_privilege('${grantee}', 'queen.partition_lookup', 'note', 'UPDATE') AS colgrant`,
    );
    expect(rows[0]).toEqual({ heads: expect.any(Number), colgrant: true });
    expect(rows[0].heads).toBeGreaterThan(400);
    const down = await cli('migrate', 'down', 'lookup', '--all');
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(diffCatalog(catalog, await fullCatalogSnapshot(db.client, SCHEMAS))).toEqual({
      removed: [],
      added: [],
    });
    expect(await sums()).toEqual(before);
  });
});

describe('lookup where queues.name is unique by an index, not a constraint', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('lookup_variant_uq');
    await loadRealFixture(db.client, 'lookup_real.sql');
  }, 120_000);
  afterAll(async () => db?.drop());

  it('a DEFERRABLE unique constraint is refused before anything changes, naming the fix', async () => {
    await db.client.query(`
      ALTER TABLE queen.queues DROP CONSTRAINT queues_name_key;
      ALTER TABLE queen.queues ADD CONSTRAINT uq_queue_name UNIQUE (name) DEFERRABLE`);
    const catalog = await fullCatalogSnapshot(db.client, SCHEMAS);
    for (const args of [['--dry-run'], []]) {
      const refused = await runCli(['migrate', 'up', 'lookup', ...args], { url: db.url });
      expect(refused.code, refused.stdout + refused.stderr).toBe(2);
      expect(refused.stderr.replace(/\s+/g, ' ')).toContain(
        'queen: queues.name has no unique index a foreign key can use (partition_lookup.queue_name references it; one on (name) alone, not partial, not deferrable, uq_queue_name is DEFERRABLE): CREATE UNIQUE INDEX CONCURRENTLY ON queen.queues (name), then run dbops migrate up lookup',
      );
    }
    expect(diffCatalog(catalog, await fullCatalogSnapshot(db.client, SCHEMAS))).toEqual({
      removed: [],
      added: [],
    });
  });

  it('a plain unique index alone (the fix it names) is used by the foreign key; down gives the catalog back', async () => {
    await db.client.query(
      'CREATE UNIQUE INDEX CONCURRENTLY queues_name_uidx ON queen.queues (name)',
    );
    await db.client.query('ALTER TABLE queen.queues DROP CONSTRAINT uq_queue_name');
    const catalog = await fullCatalogSnapshot(db.client, SCHEMAS);
    const up = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const { rows } = await db.client.query(
      `SELECT conindid::regclass::text AS idx FROM pg_constraint
        WHERE conrelid = 'queen.partition_lookup'::regclass AND conname = 'partition_lookup_queue_name_fkey'`,
    );
    expect(rows).toEqual([{ idx: 'queen.queues_name_uidx' }]);
    expect(await lookupDrift(db.client)).toBe(0);
    const check = await runCli(['check', 'all', 'lookup'], { url: db.url });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const down = await runCli(['migrate', 'down', 'lookup', '--all'], { url: db.url });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(diffCatalog(catalog, await fullCatalogSnapshot(db.client, SCHEMAS))).toEqual({
      removed: [],
      added: [],
    });
  });
});

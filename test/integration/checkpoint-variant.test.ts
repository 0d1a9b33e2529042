import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { checkpointDrift, NO_DRIFT } from '../helpers/checkpoint.js';
import { CORRUPTION, corruptCheckpoints, REPAIR } from '../helpers/checkpointCorruption.js';
import {
  addCheckpoints,
  type Keying,
  REAL_CHECKPOINT_FIXTURES,
  recordOneError,
  reserveAllConcurrently,
  startBeckettWriters,
} from '../helpers/checkpointReal.js';
import { runCli } from '../helpers/cli.js';
import {
  baseTableColumns,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { dropRoles } from '../helpers/sequenceReal.js';

/**
 * Beckett's real schemas (checkpoint_real.sql, the checkpoint-optimizations branch keyed by
 * subscription_id, and checkpoint_real_v021.sql, released v0.21 keyed by (group_name, name))
 * drifted the way an operator's database drifts: every key, unique, foreign key and index of the
 * base tables renamed, extra columns with data (jsonb, text[], defaults) and a CHECK on
 * checkpoints, extra partial and expression indexes, views (with `*`-expanded columns, one on
 * another, one calling a function that takes the checkpoints row type), a materialized view,
 * grants (table, column, function, default privileges) to an extra role, comments, and an audit
 * trigger on checkpoint updates that records the application_name of whoever updated. dbops
 * reads it all from the catalog: up with Beckett's writers running, check, concurrent
 * reservations, resync of deliberately drifted hot tables, down (the drifted original exactly:
 * full catalog and every row), up again.
 */
const RUN = Math.random().toString(36).slice(2, 8);
/** Checkpoints added to the fixture's 12,000 (more population batches, overlapping the writers). */
const ADDED = 6_000;
/** The three base tables the family reads (v0.21 has no subscription_groups). */
const BASE = ['checkpoints', 'subscriptions', 'subscription_groups'];

/** How a checkpoint row joins its subscription in each shape. */
const SUBSCRIPTION_JOIN: Record<Keying, string> = {
  id: 's.id = c.subscription_id',
  names: 's.group_name = c.group_name AND s.name = c.name',
};

/**
 * The drift script; `role` is the extra role the grants go to (created here, cluster-wide).
 * Every primary key, unique and foreign key constraint (their indexes follow) and every other
 * index of the base tables gets an operator's name, read from the catalog so both shapes drift
 * alike.
 */
const drift = (role: string, keying: Keying) => `
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT t.relname AS tbl, k.conname AS old,
                  format('op_%s_%s%s', t.relname, k.contype, row_number() OVER (PARTITION BY t.relname ORDER BY k.conname)) AS new
             FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
            WHERE t.relnamespace = 'beckett'::regnamespace AND t.relname = ANY ('{${BASE}}')
              AND k.contype IN ('p', 'u', 'f')
  LOOP
    EXECUTE format('ALTER TABLE beckett.%I RENAME CONSTRAINT %I TO %I', r.tbl, r.old, r.new);
  END LOOP;
  FOR r IN SELECT i.relname AS old,
                  format('op_%s_ix%s', t.relname, row_number() OVER (PARTITION BY t.relname ORDER BY i.relname)) AS new
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relnamespace = 'beckett'::regnamespace AND t.relname = ANY ('{${BASE}}')
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = t.oid)
  LOOP
    EXECUTE format('ALTER INDEX beckett.%I RENAME TO %I', r.old, r.new);
  END LOOP;
  FOR r IN SELECT s.relname AS old, format('op_%s_%s_seq', t.relname, a.attname) AS new
             FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             JOIN pg_class t ON t.oid = d.refobjid
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
            WHERE t.relnamespace = 'beckett'::regnamespace AND t.relname = ANY ('{${BASE}}')
              AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  LOOP
    EXECUTE format('ALTER SEQUENCE beckett.%I RENAME TO %I', r.old, r.new);
  END LOOP;
END $$;
ALTER TRIGGER checkpoint_preprocessor ON beckett.checkpoints RENAME TO op_checkpoints_before_write;
${
  keying === 'names'
    ? `-- v0.21 has no foreign keys; this operator added one.
ALTER TABLE beckett.checkpoints ADD CONSTRAINT op_checkpoints_subscription
  FOREIGN KEY (group_name, name) REFERENCES beckett.subscriptions ON DELETE CASCADE;`
    : ''
}

ALTER TABLE beckett.checkpoints ADD COLUMN meta jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE beckett.checkpoints ADD COLUMN tags text[];
ALTER TABLE beckett.checkpoints ADD COLUMN priority smallint NOT NULL DEFAULT 0;
ALTER TABLE beckett.checkpoints ADD COLUMN handler text DEFAULT 'default-handler';
ALTER TABLE beckett.checkpoints ADD CONSTRAINT ck_checkpoints_priority CHECK (priority BETWEEN 0 AND 9);
ALTER TABLE beckett.subscriptions ADD COLUMN settings jsonb;
-- The operator's backfill ran without Beckett's preprocessor (which would stamp updated_at and
-- schedule lagging checkpoints): the fixture's states stay as they are.
SET session_replication_role = replica;
UPDATE beckett.checkpoints
   SET meta = jsonb_build_object('source', split_part(stream_name, '-', 1)),
       tags = CASE WHEN id % 3 = 0 THEN ARRAY['t' || id % 5, 'x'] END,
       priority = (id % 10)::smallint
 WHERE id % 2 = 0;
RESET session_replication_role;
UPDATE beckett.subscriptions SET settings = jsonb_build_object('batch', 100) WHERE status = 'active';
CREATE INDEX ix_op_checkpoints_urgent ON beckett.checkpoints (process_at) WHERE priority >= 8;
CREATE INDEX ix_op_checkpoints_source ON beckett.checkpoints ((meta ->> 'source'));
CREATE INDEX ix_op_checkpoints_tags ON beckett.checkpoints USING gin (tags);
CREATE INDEX ix_op_checkpoints_stream_lower ON beckett.checkpoints (lower(stream_name)) WHERE status <> 'failed';

CREATE VIEW beckett.checkpoint_board AS
  SELECT c.*, s.status AS subscription_status
    FROM beckett.checkpoints c JOIN beckett.subscriptions s ON ${SUBSCRIPTION_JOIN[keying]};
CREATE VIEW beckett.checkpoint_board_due AS
  SELECT * FROM beckett.checkpoint_board WHERE process_at IS NOT NULL AND reserved_until IS NULL;
CREATE FUNCTION beckett.checkpoint_label(c beckett.checkpoints) RETURNS text LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT c.stream_name || '@' || c.stream_position || '/' || c.stream_version; END;
CREATE VIEW beckett.checkpoint_labels AS
  SELECT c.id, beckett.checkpoint_label(c) AS label, c.priority FROM beckett.checkpoints c;
CREATE MATERIALIZED VIEW beckett.checkpoint_status_counts AS
  SELECT status, lagging, count(*) AS n FROM beckett.checkpoints GROUP BY status, lagging;

CREATE TABLE beckett.checkpoint_audit (
  audit_id bigserial PRIMARY KEY,
  checkpoint_id bigint NOT NULL,
  op text NOT NULL,
  app text NOT NULL,
  status text,
  reserved_until timestamptz,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION beckett.audit_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO beckett.checkpoint_audit (checkpoint_id, op, app, status, reserved_until)
  VALUES (NEW.id, TG_OP, current_setting('application_name'), NEW.status::text, NEW.reserved_until);
  RETURN NULL;
END $$;
CREATE TRIGGER zz_audit_checkpoint AFTER UPDATE ON beckett.checkpoints
  FOR EACH ROW EXECUTE FUNCTION beckett.audit_checkpoint();

CREATE ROLE ${role} NOLOGIN;
GRANT USAGE ON SCHEMA beckett TO ${role};
GRANT SELECT, INSERT ON beckett.checkpoints, beckett.subscriptions TO ${role};
GRANT UPDATE (meta, tags, priority) ON beckett.checkpoints TO ${role};
GRANT SELECT ON beckett.checkpoint_board, beckett.checkpoint_board_due TO ${role};
GRANT EXECUTE ON FUNCTION beckett.checkpoint_label(beckett.checkpoints) TO ${role};
ALTER DEFAULT PRIVILEGES IN SCHEMA beckett GRANT SELECT ON TABLES TO ${role};
COMMENT ON TABLE beckett.checkpoints IS 'Beckett checkpoints (operator drift)';
COMMENT ON COLUMN beckett.checkpoints.process_at IS 'when the checkpoint is due';
COMMENT ON COLUMN beckett.checkpoints.meta IS 'operator metadata';
COMMENT ON INDEX beckett.ix_op_checkpoints_urgent IS 'urgent work first';
ANALYZE beckett.checkpoints, beckett.subscriptions;`;

/** Constraint and index names of the base tables (what the drift renames). */
async function baseNames(db: TestDatabase): Promise<string[]> {
  const { rows } = await db.client.query<{ name: string }>(
    `SELECT k.conname AS name FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
      WHERE t.relnamespace = 'beckett'::regnamespace AND t.relname = ANY ($1) AND k.contype IN ('p', 'u', 'f')
     UNION
     SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.relnamespace = 'beckett'::regnamespace AND t.relname = ANY ($1)
     ORDER BY 1`,
    [BASE],
  );
  return rows.map((r) => r.name);
}

/** Batches of 100 candidates: population runs while the writers write. */
function config(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 100 }));
  return cwd;
}

const { stranded: _, ...NO_HOT_DRIFT } = NO_DRIFT;

const CONSISTENCY = [
  'checkpoint.both',
  'checkpoint.expired',
  'checkpoint.ready-extra',
  'checkpoint.ready-missing',
  'checkpoint.reserved-extra',
  'checkpoint.reserved-missing',
];

describe.each(REAL_CHECKPOINT_FIXTURES)('checkpoint on a drifted deployment of $file', (fx) => {
  let db: TestDatabase;
  const role = `dbops_t_beckettdrift_${fx.keying}_${RUN}`;
  const cwd = config();
  const cli = (...args: string[]) => runCli(args, { url: db.url, cwd });
  let catalogBefore: string[];
  let originalNames: string[];
  /** Every base table of beckett with its columns before up (the drifted original). */
  let tables: Map<string, string[]>;
  let auditBefore: number;
  let maxIdBefore: string;

  /**
   * Checkpoints no one has updated since before up: the audit trigger records every update
   * (writers, reservers, the test's own corruption), and new checkpoints have larger ids.
   */
  const untouched = () =>
    `t.id <= ${maxIdBefore} AND NOT EXISTS (SELECT 1 FROM beckett.checkpoint_audit a
       WHERE a.checkpoint_id = t.id AND a.audit_id > ${auditBefore})`;

  /** Every base table of beckett whole, over its columns before up. */
  async function rows(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [table, columns] of tables)
      out[table] = await tableChecksum(db.client, table, { columns });
    return out;
  }

  /**
   * The drifted original as it was before up, where nothing but the application changed it:
   * the untouched checkpoints (against the copy taken before up), the subscriptions and groups,
   * the audit rows written before up.
   */
  async function asBeforeUp(): Promise<{
    now: Record<string, string>;
    then: Record<string, string>;
  }> {
    const now: Record<string, string> = {};
    const then: Record<string, string> = {};
    for (const [table, columns] of tables) {
      const copy = `drift_copy.${table.split('.')[1]}`;
      const where =
        table === 'beckett.checkpoints'
          ? untouched()
          : table === 'beckett.checkpoint_audit'
            ? `t.audit_id <= ${auditBefore}`
            : 'true';
      now[table] = await tableChecksum(db.client, table, { columns, where });
      then[table] = await tableChecksum(db.client, copy, { columns, where });
    }
    return { now, then };
  }

  /** Audit rows written by dbops' own sessions: none, whatever it ran. */
  const dbopsUpdates = async () =>
    (
      await db.client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM beckett.checkpoint_audit WHERE app = 'dbops'`,
      )
    ).rows[0]!.n;

  /** The hot tables against the rule (checkpointDrift without `stranded`, Beckett's own state). */
  async function hotTableDrift() {
    const { stranded: _, ...drift } = await checkpointDrift(db.client);
    return drift;
  }

  async function checkJson(...args: string[]) {
    const r = await cli('check', ...args, '--format', 'json');
    return { code: r.code, doc: JSON.parse(r.stdout), stderr: r.stderr };
  }

  /** Every consistency check ran: ok, except expired reservations (warn, exactly those). */
  async function expectConsistent() {
    const { code, doc, stderr } = await checkJson('consistency', 'checkpoint');
    expect(code, stderr).toBe(0);
    const { rows: exp } = await db.client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM beckett.checkpoints WHERE reserved_until <= now()',
    );
    expect(
      doc.checks.map((c: { id: string; status: string; count: number }) => [c.id, c.status]),
    ).toEqual(
      CONSISTENCY.map((id) => [id, id === 'checkpoint.expired' && exp[0]!.n > 0 ? 'warn' : 'ok']),
    );
    expect(doc.checks.find((c: { id: string }) => c.id === 'checkpoint.expired').count).toBe(
      exp[0]!.n,
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase(`checkpoint_variant_${fx.keying}`);
    await loadRealFixture(db.client, fx.file);
    await addCheckpoints(db.client, fx.keying, ADDED);
    originalNames = await baseNames(db);
    await db.client.query(drift(role, fx.keying));
    auditBefore = 0;
    // A few of Beckett's own updates before dbops: the audit table has rows of its own.
    await db.client.query(
      `UPDATE beckett.checkpoints SET stream_version = stream_version + 1
        WHERE id IN (SELECT id FROM beckett.checkpoints WHERE status = 'active' ORDER BY id LIMIT 5)`,
    );
    const { rows: ids } = await db.client.query(
      `SELECT (SELECT max(audit_id) FROM beckett.checkpoint_audit)::int AS audit,
              (SELECT max(id) FROM beckett.checkpoints)::text AS id`,
    );
    auditBefore = ids[0].audit;
    maxIdBefore = ids[0].id;
    catalogBefore = await fullCatalogSnapshot(db.client, ['beckett']);
    tables = await baseTableColumns(db.client, 'beckett');
    // A copy of every base table's rows before up, outside the schema the snapshot covers.
    await db.client.query('CREATE SCHEMA drift_copy');
    for (const table of tables.keys())
      await db.client.query(
        `CREATE TABLE drift_copy.${table.split('.')[1]} AS SELECT * FROM ${table}`,
      );
  });

  afterAll(async () => {
    if (!db) return;
    await db.drop();
    await dropRoles(db.url, [role]);
  });

  it('the drift is there: every key and index renamed, extra columns with data, views, grants, the audit trigger', async () => {
    const renamed = await baseNames(db);
    expect(renamed.filter((n) => originalNames.includes(n))).toEqual([]);
    expect(renamed.filter((n) => n.startsWith('op_'))).toHaveLength(
      originalNames.length + (fx.keying === 'names' ? 1 : 0),
    );
    const { rows: seqs } = await db.client.query(
      `SELECT relname FROM pg_class WHERE relnamespace = 'beckett'::regnamespace AND relkind = 'S' ORDER BY 1`,
    );
    expect(seqs.map((r) => r.relname)).toEqual([
      'checkpoint_audit_audit_id_seq',
      'op_checkpoints_id_seq',
      ...(fx.keying === 'id' ? ['op_subscription_groups_id_seq', 'op_subscriptions_id_seq'] : []),
    ]);
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM beckett.checkpoints WHERE tags IS NOT NULL) AS tagged,
              (SELECT count(*)::int / 6 FROM beckett.checkpoints) AS every6th,
              (SELECT count(*)::int FROM beckett.checkpoint_board_due) > 0 AS due,
              (SELECT conname FROM pg_constraint WHERE conrelid = 'beckett.checkpoints'::regclass AND contype = 'p') AS pk,
              (SELECT count(*)::int FROM beckett.checkpoint_audit) AS audited`,
    );
    expect(rows[0]).toEqual({
      tagged: rows[0].every6th,
      every6th: expect.any(Number),
      due: true,
      pk: expect.stringMatching(/^op_checkpoints_p\d$/),
      audited: 5,
    });
    expect(rows[0].tagged).toBeGreaterThan(1000);
  });

  it('up while Beckett writes: exit 0; the writers never fail; the audit trigger sees the writers, never dbops', async () => {
    const dry = await cli('migrate', 'up', 'checkpoint', '--dry-run');
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout + dry.stderr).toContain(
      "Beckett's trigger op_checkpoints_before_write (beckett.checkpoint_preprocessor) is left as it is",
    );
    expect(diffCatalog(catalogBefore, await fullCatalogSnapshot(db.client, ['beckett']))).toEqual({
      removed: [],
      added: [],
    });
    const writers = startBeckettWriters(db, fx.keying, fx.groups, 4);
    await new Promise((r) => setTimeout(r, 200));
    const up = await cli('migrate', 'up', 'checkpoint');
    const stats = await writers.stop();
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(stats.errors).toEqual([]);
    expect(stats.upserts).toBeGreaterThan(0);
    expect(stats.reserved).toBeGreaterThan(0);
    const { rows: audit } = await db.client.query(
      `SELECT app, count(*)::int AS n FROM beckett.checkpoint_audit WHERE audit_id > $1 GROUP BY app`,
      [auditBefore],
    );
    expect(audit).toEqual([{ app: '', n: expect.any(Number) }]);
    // Every reservation and every completion or error is one audited update (upserts of an
    // existing checkpoint are more).
    expect(audit[0].n).toBeGreaterThanOrEqual(stats.reserved + stats.completed + stats.failed);
    expect(await hotTableDrift()).toEqual(NO_HOT_DRIFT);
    // The drift is still there and still works.
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM beckett.checkpoint_board_due) > 0 AS due,
              (SELECT l.label = c.stream_name || '@' || c.stream_position || '/' || c.stream_version
                 FROM beckett.checkpoint_labels l JOIN beckett.checkpoints c USING (id) ORDER BY id LIMIT 1) AS label,
              has_column_privilege('${role}', 'beckett.checkpoints', 'meta', 'UPDATE') AS colgrant,
              has_table_privilege('${role}', 'beckett.checkpoints_ready', 'SELECT') AS defaultgrant,
              col_description('beckett.checkpoints'::regclass, (SELECT attnum FROM pg_attribute
                WHERE attrelid = 'beckett.checkpoints'::regclass AND attname = 'process_at')) AS comment`,
    );
    expect(rows[0]).toEqual({
      due: true,
      label: true,
      colgrant: true,
      defaultgrant: true,
      comment: 'when the checkpoint is due',
    });
  });

  it('check: every check runs and passes; error recording appends to the drifted retries', async () => {
    await expectConsistent();
    const { code, doc } = await checkJson('schema', 'checkpoint');
    expect(code).toBe(0);
    expect(doc.checks.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      ['checkpoint.schema', 'ok'],
    ]);
    const recorded = await recordOneError(db.client);
    expect(recorded.ok).toBe(true);
    expect(recorded.after).toMatchObject({ status: 'failed', n: recorded.before + 1 });
  });

  it('8 concurrent reservers: every due ready checkpoint handed out exactly once', async () => {
    const due = `SELECT count(*)::int AS n FROM beckett.checkpoints_ready r
                   JOIN beckett.checkpoints c ON c.id = r.id WHERE r.process_at <= now()`;
    const { rows } = await db.client.query<{ n: number }>(due);
    const ids = await reserveAllConcurrently(db, fx.groups, 8);
    expect(ids.length).toBeGreaterThan(100);
    expect(new Set(ids).size).toBe(ids.length);
    // Paused subscriptions' checkpoints stay ready; everything else due was handed out.
    const left = await db.client.query<{ n: number }>(`${due} AND c.reserved_until IS NULL`);
    expect(ids.length + left.rows[0]!.n).toBe(rows[0]!.n);
    const { rows: paused } = await db.client.query<{ n: number }>(
      `${due} AND NOT EXISTS (SELECT 1 FROM beckett.subscriptions s
         WHERE ${SUBSCRIPTION_JOIN[fx.keying]} AND s.status IN ('active', 'replay'))`,
    );
    expect(left.rows[0]!.n).toBe(paused[0]!.n);
    await expectConsistent();
  });

  it('drifted hot tables: check names exactly the drift; resync repairs it and changes no base row', async () => {
    const keys = await corruptCheckpoints(db.client);
    const { code, doc } = await checkJson('consistency', 'checkpoint');
    expect(code).toBe(1);
    for (const [kind, count] of Object.entries(CORRUPTION)) {
      const item = doc.checks.find((c: { id: string }) => c.id === `checkpoint.${kind}`);
      expect(item, kind).toMatchObject({ count, status: 'fail' });
      expect(item.sample, kind).toEqual(keys[kind as keyof typeof keys].slice(0, 5));
    }
    const before = await rows();
    const hot = () =>
      Promise.all(
        ['checkpoints_ready', 'checkpoints_reserved'].map((t) =>
          tableChecksum(db.client, `beckett.${t}`),
        ),
      );
    const hotBefore = await hot();
    const dry = await cli('resync', 'checkpoints', '--dry-run', '--format', 'json');
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).targets[0]).toMatchObject({
      status: 'dry-run',
      numbers: REPAIR,
    });
    expect(await hot()).toEqual(hotBefore);
    const resync = await cli('resync', 'checkpoints', '--format', 'json');
    expect(resync.code, resync.stderr).toBe(0);
    expect(JSON.parse(resync.stdout).targets[0]).toMatchObject({ status: 'done', numbers: REPAIR });
    expect(await rows()).toEqual(before);
    expect(await hotTableDrift()).toEqual(NO_HOT_DRIFT);
    await expectConsistent();
    expect(await dbopsUpdates()).toBe(0);
  });

  it('down --all: the drifted catalog exactly, every base row as before down and as before up; up again', async () => {
    const beforeDown = await rows();
    const down = await cli('migrate', 'down', 'checkpoint', '--all');
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(diffCatalog(catalogBefore, await fullCatalogSnapshot(db.client, ['beckett']))).toEqual({
      removed: [],
      added: [],
    });
    expect(await rows()).toEqual(beforeDown);
    const { now, then } = await asBeforeUp();
    expect(now).toEqual(then);
    // The comparison covers most checkpoints: the application touched a minority.
    const { rows: kept } = await db.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM beckett.checkpoints t WHERE ${untouched()}`,
    );
    expect(kept[0]!.n).toBeGreaterThan(Number(maxIdBefore) / 2);
    expect(await dbopsUpdates()).toBe(0);

    const again = await cli('migrate', 'up', 'checkpoint');
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const { code, doc } = await checkJson('all', 'checkpoint');
    expect(code).toBe(0);
    expect(doc.checks.map((c: { id: string }) => c.id)).toEqual([
      'checkpoint.schema',
      ...CONSISTENCY,
    ]);
    await expectConsistent();
    expect(await dbopsUpdates()).toBe(0);
  });
});

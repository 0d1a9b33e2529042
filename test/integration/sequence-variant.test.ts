import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { growRealNova } from '../../src/families/sequence/fixture.js';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import {
  baseTableColumns,
  createTestDatabase,
  stepJournal,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import {
  dropRoles,
  FIXED_NOVA_SEARCH_SYNC_SQL,
  NOVA_WRITES,
  novaOwnerRole,
  preexistingChecksums,
  rememberPreexisting,
  startLoop,
  startNovaWriter,
  wrongConversations,
} from '../helpers/sequenceReal.js';

/**
 * Nova's real schema (sequence_real.sql) drifted the way an operator's database drifts: every
 * key, unique, foreign key and index of the three base tables renamed, the global sequence
 * renamed, extra columns with data (jsonb, text[], defaults) and a CHECK, extra partial and
 * expression indexes, views (with `*`-expanded columns, one on another, one calling a function
 * that takes the messages row type), a materialized view, functions reading messages, grants
 * (table, column, sequence) to an extra role, comments, and an audit trigger on messages inserts
 * and updates. dbops reads it all from the catalog: up (a writer sending meanwhile), check,
 * resync, down (the drifted original exactly: full catalog and every row), up again.
 */
const RUN = Math.random().toString(36).slice(2, 8);
const ROLE = `dbops_t_novadrift_${RUN}`;
/** Messages added to sequence_real.sql's 12,000 (more batches, so the writer runs during up). */
const GROWN = Number(process.env.DBOPS_SEQUENCE_VARIANT_MESSAGES ?? 40_000);

/** The drift script; `role` is the extra role the grants go to (created here, cluster-wide). */
const drift = (role: string) => `
ALTER TABLE messages RENAME CONSTRAINT messages_pkey TO pk_messages;
ALTER TABLE messages RENAME CONSTRAINT messages_conversation_id_fkey TO fk_messages_conversation;
ALTER TABLE messages RENAME CONSTRAINT messages_sender_id_fkey TO fk_messages_sender;
ALTER TABLE messages RENAME CONSTRAINT messages_idempotency_key_key TO uq_messages_idempotency;
ALTER TABLE messages RENAME CONSTRAINT messages_message_type_check TO ck_messages_type;
ALTER INDEX idx_messages_conversation_created RENAME TO messages_conversation_created_idx;
ALTER INDEX idx_messages_active RENAME TO messages_visible_idx;
ALTER SEQUENCE messages_sequence_number_seq RENAME TO messages_global_seq;
ALTER TABLE conversations RENAME CONSTRAINT conversations_pkey TO pk_conversations;
ALTER TABLE conversations RENAME CONSTRAINT conversations_created_by_fkey TO fk_conversations_creator;
ALTER INDEX idx_conversations_updated_at RENAME TO conversations_updated_idx;
ALTER TABLE conversation_members RENAME CONSTRAINT conversation_members_pkey TO pk_conversation_members;
ALTER TABLE conversation_members RENAME CONSTRAINT unique_conversation_member TO uq_member_per_conversation;
ALTER TABLE conversation_members RENAME CONSTRAINT conversation_members_conversation_id_fkey TO fk_members_conversation;
ALTER TABLE conversation_members RENAME CONSTRAINT conversation_members_user_id_fkey TO fk_members_user;
ALTER INDEX idx_conversation_members_user RENAME TO conversation_members_user_idx;

ALTER TABLE messages ADD COLUMN meta jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE messages ADD COLUMN labels text[];
ALTER TABLE messages ADD COLUMN priority smallint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN client_app text DEFAULT 'ios';
ALTER TABLE messages ADD CONSTRAINT ck_messages_priority CHECK (priority BETWEEN 0 AND 9);
ALTER TABLE conversations ADD COLUMN settings jsonb;
ALTER TABLE conversations ADD COLUMN pinned boolean NOT NULL DEFAULT false;
ALTER TABLE conversation_members ADD COLUMN nickname text;
-- Nova's broken UPDATE trigger makes every UPDATE of messages fail: the operator's backfill of
-- its new columns ran without the triggers, as dbops' does.
SET session_replication_role = replica;
UPDATE messages SET meta = jsonb_build_object('kind', CASE WHEN message_type = 'system' THEN 'system' ELSE 'chat' END),
       labels = CASE WHEN sequence_number % 3 = 0 THEN ARRAY['l' || sequence_number % 5, 'x'] END,
       priority = (sequence_number % 10)::smallint
 WHERE sequence_number % 2 = 0;
RESET session_replication_role;
UPDATE conversations SET settings = jsonb_build_object('theme', 'dark'), pinned = conversation_type = 'group'
 WHERE privacy_mode = 'strict_e2e';
UPDATE conversation_members SET nickname = 'nick-' || left(id::text, 4) WHERE role = 'owner';
CREATE INDEX ix_messages_urgent ON messages (conversation_id, created_at) WHERE priority >= 8;
CREATE INDEX ix_messages_kind ON messages ((meta ->> 'kind'));
CREATE INDEX ix_messages_labels ON messages USING gin (labels);
CREATE INDEX ix_conversations_pinned ON conversations (id) WHERE pinned;

CREATE VIEW conversation_feed AS
  SELECT m.*, c.name AS conversation_name, c.conversation_type
    FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.deleted_at IS NULL;
CREATE VIEW conversation_feed_recent AS
  SELECT * FROM conversation_feed WHERE created_at > timestamptz '2025-12-01';
CREATE VIEW conversation_overview AS
  SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_total FROM conversations c;
CREATE FUNCTION message_preview(m messages) RETURNS text LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT m.sequence_number::text || ': ' || left(m.content, 20); END;
CREATE VIEW message_previews AS SELECT m.id, m.conversation_id, message_preview(m) AS preview FROM messages m;
CREATE FUNCTION conversation_message_total(cid uuid) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN (SELECT count(*) FROM messages WHERE conversation_id = cid); END $$;
CREATE MATERIALIZED VIEW conversation_last_global AS
  SELECT conversation_id, max(sequence_number) AS last_global, count(*) AS n FROM messages GROUP BY conversation_id;

CREATE TABLE message_audit (
  audit_id bigserial PRIMARY KEY,
  message_id uuid NOT NULL,
  op text NOT NULL,
  sequence_number bigint,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION audit_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO message_audit (message_id, op, sequence_number) VALUES (NEW.id, TG_OP, NEW.sequence_number);
  RETURN NULL;
END $$;
CREATE TRIGGER zz_audit_message AFTER INSERT OR UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION audit_message();

CREATE ROLE ${role} NOLOGIN;
GRANT SELECT, INSERT ON messages, conversations TO ${role};
GRANT UPDATE (meta, labels) ON messages TO ${role};
GRANT USAGE ON SEQUENCE messages_global_seq TO ${role};
GRANT SELECT ON conversation_feed, conversation_feed_recent TO ${role};
COMMENT ON TABLE messages IS 'chat messages (Nova)';
COMMENT ON COLUMN messages.sequence_number IS 'global order, Nova 031';
COMMENT ON COLUMN conversations.settings IS 'client settings';
ANALYZE messages, conversations, conversation_members;`;

/** Batches of 1,000 conversations' worth: many batches, so the writer runs during the backfill. */
function config(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 1000 }));
  return cwd;
}

describe("sequence on a drifted deployment of Nova's real schema", () => {
  let db: TestDatabase;
  let catalogBefore: string[];
  /** Every base table with its columns before up (the "original columns"). */
  let tables: Map<string, string[]>;
  let messageColumns: string[];
  /** Conversations the writer sends into (Nova's own trigger moves their updated_at). */
  let writerConvs: string[];
  let auditBefore: number;
  const cwd = config();

  /**
   * Checksums of every base table over its original columns: the messages that existed before
   * up, with and without their numbers; the writer's conversations without updated_at; the
   * audit rows that existed before up; everything else whole.
   */
  async function checksums(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const numbers = await preexistingChecksums(db.client, messageColumns);
    out['messages (pre-existing, original columns)'] = numbers.columns;
    out['messages (pre-existing, id:sequence_number)'] = numbers.numbers;
    for (const [table, columns] of tables) {
      if (table === 'public.messages') continue;
      if (table === 'public.conversations') {
        out[table] = await tableChecksum(db.client, table, {
          columns: columns.filter((c) => c !== 'updated_at'),
        });
        out[`${table} (updated_at, other conversations)`] = await tableChecksum(db.client, table, {
          columns: ['id', 'updated_at'],
          where: `t.id <> ALL ('{${writerConvs.join(',')}}'::uuid[])`,
        });
      } else if (table === 'public.message_audit')
        out[table] = await tableChecksum(db.client, table, {
          columns,
          where: `t.audit_id <= ${auditBefore}`,
        });
      else out[table] = await tableChecksum(db.client, table, { columns });
    }
    return out;
  }
  const steps = stepJournal(checksums);
  const { record, journal } = steps;

  beforeAll(async () => {
    db = await createTestDatabase('sequence_variant');
    await loadRealFixture(db.client, 'sequence_real.sql');
    await growRealNova(db.client, { messages: GROWN, conversations: 1200 });
    await db.client.query(drift(ROLE));
    // A few application inserts before dbops: the audit table has rows of its own.
    await db.client.query(
      `INSERT INTO messages (conversation_id, sender_id, encrypted_content, nonce, content, labels)
       SELECT md5('conv' || g)::uuid, md5('user1')::uuid, 'x', 'n', 'before dbops', ARRAY['pre']
         FROM generate_series(1, 5) g`,
    );
    auditBefore = Number(
      (await db.client.query('SELECT max(audit_id) AS n FROM message_audit')).rows[0].n,
    );
    const { rows } = await db.client.query<{ id: string }>(
      'SELECT id FROM conversations ORDER BY id LIMIT 20',
    );
    writerConvs = rows.map((r) => r.id);
    catalogBefore = await fullCatalogSnapshot(db.client, ['public']);
    tables = await baseTableColumns(db.client, 'public');
    messageColumns = await rememberPreexisting(db.client);
    steps.before = await checksums();
  }, 300_000);

  afterAll(async () => {
    console.log(
      `drifted sequence_real.sql + ${GROWN} messages:\n${JSON.stringify(journal, null, 1)}`,
    );
    await db?.client.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
    await db?.client.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => {});
    await db?.drop();
  });

  it('the drift is there: renamed keys, extra columns with data, views, grants', async () => {
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM messages WHERE labels IS NOT NULL) AS labelled,
              (SELECT count(*)::int FROM conversation_feed_recent) > 0 AS feed,
              pg_get_serial_sequence('messages', 'sequence_number') AS seq,
              (SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass AND contype = 'p') AS pk`,
    );
    expect(rows[0]).toEqual({
      labelled: expect.any(Number),
      feed: true,
      seq: 'public.messages_global_seq',
      pk: 'pk_messages',
    });
    expect(rows[0].labelled).toBeGreaterThan(1000);
  });

  it('up while Nova sends and members come and go: exit 0; the audit trigger sees sends only', async () => {
    const sender = (await db.client.query(`SELECT md5('user1')::uuid AS id`)).rows[0].id as string;
    const writer = startNovaWriter(db.url, writerConvs, sender);
    const members = startLoop(db.url, NOVA_WRITES.memberJoinAndLeave);
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url, cwd });
    const seen = await writer.stop();
    const joined = await members.stop();
    await record('up (writer and member loop running)', up.code, {
      sent: seen.sent,
      memberJoinsAndLeaves: joined.ops,
    });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const out = (up.stdout + up.stderr).replace(/\s+/g, ' ');
    expect(out).toContain('adopt public.messages.sequence_number');
    // The audit trigger would fire on the backfill's UPDATEs: as superuser it is kept quiet.
    expect(out).toMatch(
      /session_replication_role = replica: the application's triggers .*?zz_audit_message \(public\.audit_message\).*? do not fire on it/,
    );
    expect(seen.errors).toEqual([]);
    expect(seen.sent).toBeGreaterThan(0);
    expect(seen.nullNumbers).toBe(0);
    expect(joined.errors).toEqual([]);
    const audit = await db.client.query(
      `SELECT op, count(*)::int AS n, count(sequence_number)::int AS numbered FROM message_audit
        WHERE audit_id > $1 GROUP BY op`,
      [auditBefore],
    );
    expect(audit.rows).toEqual([{ op: 'INSERT', n: seen.sent, numbered: seen.sent }]);
    expect(await wrongConversations(db.client)).toBe(0);
    const after = await checksums();
    expect(after['messages (pre-existing, original columns)']).toBe(
      steps.before['messages (pre-existing, original columns)'],
    );
    expect(after['messages (pre-existing, id:sequence_number)']).not.toBe(
      steps.before['messages (pre-existing, id:sequence_number)'],
    );
    // The drift is still there and still works.
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM conversation_feed_recent) > 0 AS feed,
              (SELECT p.preview = m.sequence_number || ': ' || left(m.content, 20)
                 FROM message_previews p JOIN messages m USING (id) WHERE id = md5('msg8')::uuid) AS preview,
              conversation_message_total(md5('conv1')::uuid) > 0 AS fn,
              has_column_privilege('${ROLE}', 'messages', 'meta', 'UPDATE') AS colgrant,
              col_description('messages'::regclass, (SELECT attnum FROM pg_attribute
                WHERE attrelid = 'messages'::regclass AND attname = 'sequence_number')) AS comment`,
    );
    expect(rows[0]).toEqual({
      feed: true,
      preview: true,
      fn: true,
      colgrant: true,
      comment: 'global order, Nova 031',
    });
  }, 600_000);

  it('check all sequence: 0; resync all: 0 and changes nothing', async () => {
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url, cwd });
    await record('check all sequence', check.code);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const beforeResync = await checksums();
    const resync = await runCli(['resync', 'all'], { url: db.url, cwd });
    await record('resync all', resync.code);
    expect(resync.code, resync.stdout + resync.stderr).toBe(0);
    expect(await checksums()).toEqual(beforeResync);
  }, 300_000);

  it('down --all: the drifted catalog exactly, every base table row as before; up again', async () => {
    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: db.url, cwd });
    const diff = diffCatalog(catalogBefore, await fullCatalogSnapshot(db.client, ['public']));
    await record('down --all', down.code, {
      catalogLines: catalogBefore.length,
      diffRemoved: diff.removed.length,
      diffAdded: diff.added.length,
    });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(diff).toEqual({
      removed: [],
      added: [],
    });
    expect(await checksums()).toEqual(steps.before);
    // down's renumbering of the writer's messages fired no audit trigger either.
    const updates = await db.client.query(
      `SELECT count(*)::int AS n FROM message_audit WHERE op <> 'INSERT'`,
    );
    expect(updates.rows[0].n).toBe(0);
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url, cwd });
    await record('up again', up.code);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(await wrongConversations(db.client, false)).toBe(0);
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url, cwd });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 600_000);
});

describe("sequence on Nova's real schema where the operator already has objects of the family's names", () => {
  let db: TestDatabase;
  /** What an operator who ran part of Nova's 060 by hand (or named things alike) has. */
  const COLLIDING = `
CREATE INDEX idx_messages_conversation_ts_id ON messages (conversation_id, created_at DESC);
-- The family's CHECK, but never validated: not identical (an identical one is kept, see
-- sequence-adopt-index.test.ts).
ALTER TABLE messages ADD CONSTRAINT chk_sequence_number_positive CHECK (sequence_number > 0) NOT VALID;
CREATE FUNCTION assign_message_sequence() RETURNS integer LANGUAGE sql AS 'SELECT 1';
CREATE TRIGGER set_message_content_tsv AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION update_conversation_timestamp();`;

  beforeAll(async () => {
    db = await createTestDatabase('sequence_variant_names');
    await loadRealFixture(db.client, 'sequence_real.sql');
    await db.client.query(COLLIDING);
  }, 120_000);
  afterAll(async () => db?.drop());

  it('up is refused naming each object (down would drop the index and CHECK); renamed, they are carried and left by down', async () => {
    const before = await fullCatalogSnapshot(db.client, ['public']);
    const refused = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(refused.code).toBe(2);
    const text = refused.stderr.replace(/\s+/g, ' ');
    for (const line of [
      'index public.idx_messages_conversation_ts_id already exists (CREATE INDEX idx_messages_conversation_ts_id ON public.messages USING btree (conversation_id, created_at DESC)): 0008_sequence_indexes creates one of that name, would keep yours in place of its own, and migrate down would drop yours; rename yours (ALTER INDEX public.idx_messages_conversation_ts_id RENAME TO <another name>)',
      'constraint chk_sequence_number_positive on public.messages already exists (CHECK ((sequence_number > 0)) NOT VALID): 0009_sequence_constraints',
      'function public.assign_message_sequence() already exists: 0003_message_sequence creates one of that name and would fail on it halfway through up',
      'trigger set_message_content_tsv on public.messages already exists: 0003_message_sequence',
    ])
      expect(text).toContain(line);
    expect(diffCatalog(before, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
    await db.client.query(`
      ALTER INDEX idx_messages_conversation_ts_id RENAME TO ops_messages_conv_created;
      ALTER TABLE messages RENAME CONSTRAINT chk_sequence_number_positive TO ops_sequence_positive;
      ALTER FUNCTION assign_message_sequence() RENAME TO ops_assign;
      ALTER TRIGGER set_message_content_tsv ON messages RENAME TO ops_touch_conversation`);
    const renamed = await fullCatalogSnapshot(db.client, ['public']);
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    const { rows } = await db.client.query(
      `SELECT pg_get_indexdef('idx_messages_conversation_ts_id'::regclass) AS def`,
    );
    expect(rows[0].def).toContain(
      '(conversation_id, created_at DESC, id DESC) WHERE (deleted_at IS NULL)',
    );
    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(diffCatalog(renamed, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
  }, 300_000);
});

describe('the drifted Nova as a role that may not set session_replication_role: the audit trigger', () => {
  let db: TestDatabase;
  const grantee = `dbops_t_novadrift_g_${RUN}`;
  const owner = `dbops_t_novadrift_o_${RUN}`;
  let ownerUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase('sequence_variant_role');
    await loadRealFixture(db.client, 'sequence_real.sql');
    await db.client.query(drift(grantee));
    ownerUrl = await novaOwnerRole(db.client, db, owner);
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    await dropRoles(db.url, [grantee, owner]);
  });

  it('is refused naming it; with Nova fixed and --fire-app-triggers it fires once per backfilled message; down restores the catalog', async () => {
    const refused = await runCli(['migrate', 'up', 'sequence'], { url: ownerUrl });
    expect(refused.code).toBe(2);
    const text = refused.stderr.replace(/\s+/g, ' ');
    expect(text).toMatch(
      /the backfill UPDATEs public\.messages \(sequence_number, content_tsv\), which fires the application's triggers .*zz_audit_message \(public\.audit_message\)/,
    );
    expect(text).toContain('--fire-app-triggers');
    // Nova's own broken UPDATE trigger would refuse the rehearsal: fixed as in sequence-real.
    await db.client.query(FIXED_NOVA_SEARCH_SYNC_SQL);
    const before = await fullCatalogSnapshot(db.client, ['public']);
    const messages = Number(
      (await db.client.query('SELECT count(*) AS n FROM messages')).rows[0].n,
    );
    const up = await runCli(['migrate', 'up', 'sequence', '--fire-app-triggers'], {
      url: ownerUrl,
    });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout.replace(/\s+/g, ' ')).toMatch(
      /--fire-app-triggers: the application's triggers .*zz_audit_message \(public\.audit_message\)/,
    );
    const audit = await db.client.query(
      `SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct FROM message_audit WHERE op = 'UPDATE'`,
    );
    expect(audit.rows[0]).toEqual({ n: messages, distinct: messages });
    expect(await wrongConversations(db.client)).toBe(0);
    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: ownerUrl });
    expect(down.code, down.stderr).toBe(0);
    expect(diffCatalog(before, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
  }, 300_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTICAL_ADOPTABLE } from '../../src/families/sequence/adoptIdentical.js';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import {
  baseTableColumns,
  createTestDatabase,
  type TestDatabase,
  tableChecksums,
} from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { wrongConversations } from '../helpers/sequenceReal.js';

/**
 * Nova's real schema (sequence_real.sql) where the operator already has, under the family's
 * names, indexes and a CHECK identical to what 0008/0009 create (Nova's 060 run by hand):
 * dbops keeps them in place (not rebuilt), checks pass, down leaves them exactly. Same names
 * with other definitions, an INVALID one, and a unique index on (conversation_id,
 * sequence_number) (which the in-place renumbering collides with) are refused.
 */

/** What the operator created by hand, with comments of its own. */
const IDENTICAL = `
CREATE INDEX idx_messages_conversation_ts_id ON messages (conversation_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_conversation_members_user_conversation ON conversation_members (user_id, conversation_id) INCLUDE (is_archived, last_read_at);
ALTER TABLE messages ADD CONSTRAINT chk_sequence_number_positive CHECK (sequence_number > 0);
COMMENT ON INDEX idx_messages_conversation_ts_id IS 'Nova 060, run by hand';
COMMENT ON CONSTRAINT chk_sequence_number_positive ON messages IS 'ops: numbers are positive'`;

const KEPT = [
  'idx_messages_conversation_ts_id',
  'idx_conversation_members_user_conversation',
  'chk_sequence_number_positive',
];

/** Identity of the kept objects: a rebuilt index gets a new oid and relfilenode. */
async function keptIdentity(db: TestDatabase) {
  const { rows } = await db.client.query(
    `SELECT c.relname AS name, c.oid::int AS oid, c.relfilenode::int AS file FROM pg_class c
      WHERE c.relname = ANY ($1)
     UNION ALL
     SELECT conname, oid::int, NULL FROM pg_constraint WHERE conname = ANY ($1) ORDER BY 1`,
    [KEPT],
  );
  return rows;
}

async function keptRecords(db: TestDatabase) {
  const { rows } = await db.client.query(
    `SELECT kind, name, definition FROM dbops.adopted
      WHERE family = 'sequence' AND kind LIKE 'kept %' ORDER BY kind, name`,
  );
  return rows;
}

const EXPECTED_RECORDS = [
  {
    kind: 'kept constraint',
    name: 'public.messages.chk_sequence_number_positive',
    definition: 'CHECK ((sequence_number > 0))',
  },
  {
    kind: 'kept index',
    name: 'public.idx_conversation_members_user_conversation',
    definition:
      'CREATE INDEX idx_conversation_members_user_conversation ON public.conversation_members USING btree (user_id, conversation_id) INCLUDE (is_archived, last_read_at)',
  },
  {
    kind: 'kept index',
    name: 'public.idx_messages_conversation_ts_id',
    definition:
      'CREATE INDEX idx_messages_conversation_ts_id ON public.messages USING btree (conversation_id, created_at DESC, id DESC) WHERE (deleted_at IS NULL)',
  },
];

describe("sequence on Nova's real schema with the family's indexes and CHECK already there, identical", () => {
  let db: TestDatabase;
  let catalogBefore: string[];
  let tables: Map<string, string[]>;
  let rowsBefore: Record<string, string>;
  let identity: Awaited<ReturnType<typeof keptIdentity>>;

  beforeAll(async () => {
    db = await createTestDatabase('sequence_adopt_index');
    await loadRealFixture(db.client, 'sequence_real.sql');
    await db.client.query(IDENTICAL);
    catalogBefore = await fullCatalogSnapshot(db.client, ['public']);
    tables = await baseTableColumns(db.client, 'public');
    rowsBefore = await tableChecksums(db.client, tables);
    identity = await keptIdentity(db);
    expect(identity).toHaveLength(3);
  }, 120_000);
  afterAll(async () => db?.drop());

  it('up keeps them in place (no index build) and records them; check all is ok', async () => {
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const out = (up.stdout + up.stderr).replace(/\s+/g, ' ');
    for (const name of KEPT) expect(out).toContain(`public.${name} (`);
    expect(out).toContain("identical to the family's, so it is not built again");
    expect(out).toContain(
      "sequence: keeping the operator's identical index idx_messages_conversation_ts_id",
    );
    expect(await keptIdentity(db)).toEqual(identity);
    expect(await keptRecords(db)).toEqual(EXPECTED_RECORDS);
    expect(await wrongConversations(db.client)).toBe(0);
    // What dbops built itself prints exactly as adoptIdentical.ts expects an identical one to.
    const built = await db.client.query(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'chk_member_count_positive'`,
    );
    expect(built.rows[0].def).toBe(
      IDENTICAL_ADOPTABLE.find((k) => k.name === 'chk_member_count_positive')!.printed,
    );
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 300_000);

  it('down --all leaves them exactly as they were: the whole catalog and every row as before up', async () => {
    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: db.url });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(diffCatalog(catalogBefore, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
    expect(await tableChecksums(db.client, tables)).toEqual(rowsBefore);
    expect(await keptIdentity(db)).toEqual(identity);
    expect(await keptRecords(db)).toEqual([]);
  }, 300_000);

  it('up again keeps them again; check all is ok', async () => {
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(await keptIdentity(db)).toEqual(identity);
    expect(await keptRecords(db)).toEqual(EXPECTED_RECORDS);
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 300_000);
});

describe("sequence on Nova's real schema with same-named objects that differ, an INVALID one, a unique key on the numbers", () => {
  let db: TestDatabase;
  const OBJECTS = `
CREATE INDEX idx_messages_conversation_ts_id ON messages (conversation_id, created_at DESC, id DESC);
ALTER TABLE messages ADD CONSTRAINT chk_sequence_number_positive CHECK (sequence_number >= 1);
CREATE INDEX idx_conversation_members_user_conversation ON conversation_members (user_id, conversation_id) INCLUDE (is_archived, last_read_at);
-- What an interrupted CREATE INDEX CONCURRENTLY leaves.
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_conversation_members_user_conversation'::regclass;
CREATE UNIQUE INDEX ops_messages_conversation_seq ON messages (conversation_id, sequence_number);`;

  beforeAll(async () => {
    db = await createTestDatabase('sequence_adopt_index_refused');
    await loadRealFixture(db.client, 'sequence_real.sql');
    await db.client.query(OBJECTS);
  }, 120_000);
  afterAll(async () => db?.drop());

  it('up and its dry run are refused (exit 2) naming each one; nothing changes', async () => {
    const before = await fullCatalogSnapshot(db.client, ['public']);
    const tables = await baseTableColumns(db.client, 'public');
    const rows = await tableChecksums(db.client, tables);
    const dry = await runCli(['migrate', 'up', 'sequence', '--dry-run'], { url: db.url });
    const real = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(dry.code).toBe(2);
    expect(real.code).toBe(2);
    expect(dry.stderr).toBe(real.stderr);
    const lines = real.stderr
      .split('\n')
      .filter((l) => l.startsWith('  - '))
      .map((l) => l.slice(4))
      .sort();
    expect(lines).toEqual(
      [
        'unique index ops_messages_conversation_seq keys messages (conversation_id, sequence_number): ' +
          "dbops renumbers each conversation's messages in place (and down puts the global numbers back), " +
          'and a unique index is checked row by row, so a number not rewritten yet collides with a new one ' +
          'and the backfill fails halfway; drop it before up (or the constraint it belongs to): 0008 builds ' +
          'uq_messages_conversation_sequence, the same index, after the numbering, and down drops that one',
        'index public.idx_conversation_members_user_conversation already exists (CREATE INDEX ' +
          'idx_conversation_members_user_conversation ON public.conversation_members USING btree ' +
          '(user_id, conversation_id) INCLUDE (is_archived, last_read_at); INVALID: left by an ' +
          'interrupted or failed CREATE INDEX CONCURRENTLY): 0008_sequence_indexes creates one of that ' +
          'name, would keep yours in place of its own, and migrate down would drop yours; rename yours ' +
          '(ALTER INDEX public.idx_conversation_members_user_conversation RENAME TO <another name>), or ' +
          "drop it if it is dbops' own left behind",
        'index public.idx_messages_conversation_ts_id already exists (CREATE INDEX ' +
          'idx_messages_conversation_ts_id ON public.messages USING btree (conversation_id, created_at ' +
          'DESC, id DESC)): 0008_sequence_indexes creates one of that name, would keep yours in place of ' +
          'its own, and migrate down would drop yours; rename yours (ALTER INDEX ' +
          'public.idx_messages_conversation_ts_id RENAME TO <another name>), or drop it if it is ' +
          "dbops' own left behind",
        'constraint chk_sequence_number_positive on public.messages already exists (CHECK ' +
          '((sequence_number >= 1))): 0009_sequence_constraints creates one of that name, would keep ' +
          'yours in place of its own, and migrate down would drop yours; rename yours (ALTER TABLE ' +
          'public.messages RENAME CONSTRAINT chk_sequence_number_positive TO <another name>), or drop ' +
          "it if it is dbops' own left behind",
      ].sort(),
    );
    expect(diffCatalog(before, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
    expect(await tableChecksums(db.client, tables)).toEqual(rows);
  }, 120_000);

  it('done as the refusal says, up and down work and leave the renamed ones; an identical index under another name gets a note', async () => {
    await db.client.query(`
      DROP INDEX ops_messages_conversation_seq;
      DROP INDEX idx_conversation_members_user_conversation;
      ALTER INDEX idx_messages_conversation_ts_id RENAME TO ops_messages_conv_created;
      ALTER TABLE messages RENAME CONSTRAINT chk_sequence_number_positive TO ops_sequence_positive;
      -- Identical to the family's index, under another name: not taken over, a note says so.
      CREATE INDEX ops_members_user_conv ON conversation_members (user_id, conversation_id) INCLUDE (is_archived, last_read_at)`);
    const before = await fullCatalogSnapshot(db.client, ['public']);
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect((up.stdout + up.stderr).replace(/\s+/g, ' ')).toContain(
      "index public.ops_members_user_conv is identical to the family's " +
        'idx_conversation_members_user_conversation: 0008 builds that one beside yours (a second ' +
        'copy). To have dbops keep yours instead (and leave it on down), rename it before up: ' +
        'ALTER INDEX public.ops_members_user_conv RENAME TO idx_conversation_members_user_conversation',
    );
    const built = await db.client.query(
      `SELECT pg_get_indexdef('idx_conversation_members_user_conversation'::regclass) AS def`,
    );
    expect(built.rows[0].def).toContain('INCLUDE (is_archived, last_read_at)');
    expect(await wrongConversations(db.client)).toBe(0);
    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: db.url });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(diffCatalog(before, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
  }, 300_000);
});

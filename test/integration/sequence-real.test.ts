import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { growRealNova } from '../../src/families/sequence/fixture.js';
import { runCli } from '../helpers/cli.js';
import {
  catalogSnapshot,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import {
  dropRoles,
  FIXED_NOVA_SEARCH_SYNC_SQL,
  messageNumbers,
  NOVA_WRITES,
  novaOwnerRole,
  preexistingChecksums,
  rememberPreexisting,
  startLoop,
  startNovaWriter,
  wrongConversations,
} from '../helpers/sequenceReal.js';

const SEARCH = 'public.message_search_index';
/** Messages added to sequence_real.sql's 12,000 (DBOPS_SEQUENCE_REAL_MESSAGES for bigger runs). */
const GROWN = Number(process.env.DBOPS_SEQUENCE_REAL_MESSAGES ?? 200_000);
const CONVERSATIONS = Math.max(1200, Math.round(GROWN / 60));
/** Nova's UPDATE of a message, which its own trigger makes fail. */
const NOVA_EDIT = `UPDATE messages SET content = 'edited', edited_at = now() WHERE id = md5('msg7')::uuid`;

/** Batches of 1,000 conversations' worth: many batches, so the writers run during the backfill. */
function config(extra: object = {}): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 1000, ...extra }));
  return cwd;
}

async function novaEdit(client: pg.ClientBase): Promise<string> {
  return client.query(NOVA_EDIT).then(
    () => 'ok',
    (err: Error) => err.message,
  );
}

describe(`sequence on Nova's real schema, ${12_000 + GROWN} messages (global BIGSERIAL adopted)`, () => {
  let db: TestDatabase;
  let catalogBefore: string[];
  let searchBefore: string;
  let columns: string[];
  let before: { columns: string; numbers: string };
  let originals: Map<string, string>;
  let editErrorBefore: string;
  /** Senders' conversations: their numbers interleave history by arrival, not (created_at, id). */
  let convs: string[];
  const cwd = config();
  const journal: Record<string, string | number | null>[] = [];

  /** One line of the closing note: a command's exit code and the checksums right after it. */
  async function record(step: string, code: number | null) {
    const now = await preexistingChecksums(db.client, columns);
    journal.push({
      step,
      exit: code,
      messagesOriginalColumns: now.columns,
      messagesOriginalNumbers: now.numbers,
      messageSearchIndex: await tableChecksum(db.client, SEARCH),
    });
    return now;
  }

  beforeAll(async () => {
    db = await createTestDatabase('sequence_real');
    await loadRealFixture(db.client, 'sequence_real.sql');
    await growRealNova(db.client, { messages: GROWN, conversations: CONVERSATIONS });
    catalogBefore = await catalogSnapshot(db.client, ['public']);
    searchBefore = await tableChecksum(db.client, SEARCH);
    columns = await rememberPreexisting(db.client);
    originals = await messageNumbers(db.client);
    editErrorBefore = await novaEdit(db.client);
    before = await record('before up', null);
  }, 300_000);

  afterAll(async () => {
    console.log(`sequence_real.sql + ${GROWN} messages:\n${JSON.stringify(journal, null, 1)}`);
    await db?.drop();
  });

  it("the dry run names the adoption and Nova's broken trigger (a warning: the backfill does not fire it)", async () => {
    expect(editErrorBefore).toContain('argument of OR must be type boolean');
    const dry = await runCli(['migrate', 'up', 'sequence', '--dry-run'], { url: db.url, cwd });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('adopt public.messages.sequence_number');
    expect(dry.stdout.replace(/\s+/g, ' ')).toContain(
      'warning: rehearsal: trigger message_search_sync_trigger (public.sync_message_search_index_on_edit) on public.messages fails on UPDATE: argument of OR must be type boolean',
    );
  });

  it("up while Nova sends, edits, soft/hard deletes and members come and go: exit 0, Nova's writes behave as before", async () => {
    const { rows } = await db.client.query<{ id: string }>(
      'SELECT id FROM conversations ORDER BY id LIMIT 30',
    );
    convs = rows.map((r) => r.id);
    const sender = (await db.client.query(`SELECT md5('user1')::uuid AS id`)).rows[0].id as string;
    const sent: string[] = [];
    const senders = [0, 1, 2].map((k) =>
      startNovaWriter(db.url, convs.slice(k * 10, k * 10 + 10), sender, sent),
    );
    const edits = startLoop(db.url, NOVA_WRITES.edit);
    const softDeletes = startLoop(db.url, NOVA_WRITES.softDelete);
    const deleted = { rows: 0 };
    const hardDeletes = startLoop(db.url, (c) => NOVA_WRITES.hardDelete(c, sent, deleted));
    const members = startLoop(db.url, NOVA_WRITES.memberJoinAndLeave);
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url, cwd });
    const seen = await Promise.all(senders.map((w) => w.stop()));
    const [edited, softDeleted, hardDeleted, joined] = await Promise.all(
      [edits, softDeletes, hardDeletes, members].map((l) => l.stop()),
    );
    const after = await record('up (writers running)', up.code);
    journal.push({
      step: 'writers during up',
      sent: seen.reduce((a, s) => a + s.sent, 0),
      hardDeleted: deleted.rows,
      memberJoinsAndLeaves: joined!.ops,
      editsFailedAsBefore: edited!.errors.length,
      softDeletesFailedAsBefore: softDeleted!.errors.length,
    });
    expect(up.code, up.stderr).toBe(0);
    expect(seen.flatMap((s) => s.errors)).toEqual([]);
    expect(seen.reduce((a, s) => a + s.sent, 0)).toBeGreaterThan(0);
    expect(seen.reduce((a, s) => a + s.nullNumbers, 0)).toBe(0);
    // Every edit and soft delete fails exactly as it did before dbops; nothing else fails.
    for (const loop of [edited!, softDeleted!]) {
      expect(loop.errors.length).toBeGreaterThan(0);
      expect(new Set(loop.errors)).toEqual(new Set([editErrorBefore]));
    }
    expect(hardDeleted!.errors).toEqual([]);
    expect(deleted.rows).toBeGreaterThan(0);
    expect(joined!.errors).toEqual([]);
    expect(joined!.ops).toBeGreaterThan(0);
    expect(after.columns).toBe(before.columns);
    expect(after.numbers).not.toBe(before.numbers);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
  }, 300_000);

  it('right after up: per-conversation numbers and every counter right', async () => {
    // Hard deletes leave gaps in the senders' conversations; everything else is exact.
    expect(await wrongConversations(db.client, false)).toBe(0);
    const misnumbered = await db.client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (
         SELECT m.sequence_number, c.last_sequence_number, count(*) OVER w AS total,
                row_number() OVER (w ORDER BY m.created_at ASC NULLS FIRST, m.id) AS expected
           FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.conversation_id <> ALL ($1::uuid[])
         WINDOW w AS (PARTITION BY m.conversation_id)) m
        WHERE sequence_number <> expected OR last_sequence_number <> total`,
      [convs],
    );
    expect(Number(misnumbered.rows[0]!.n)).toBe(0);
  }, 120_000);

  it('check all sequence: ok; resync all changes nothing', async () => {
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url, cwd });
    await record('check all sequence', check.code);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const tables = async () => [
      await tableChecksum(db.client, 'public.messages'),
      await tableChecksum(db.client, 'public.conversations'),
      await tableChecksum(db.client, 'public.conversation_members'),
    ];
    const beforeResync = await tables();
    const resync = await runCli(['resync', 'all'], { url: db.url, cwd });
    await record('resync all', resync.code);
    expect(resync.code, resync.stdout + resync.stderr).toBe(0);
    expect(await tables()).toEqual(beforeResync);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
  }, 120_000);

  it('down --all: the catalog as before up, every original global number back; messages sent meanwhile get new global numbers', async () => {
    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: db.url, cwd });
    const after = await record('down --all', down.code);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(catalogBefore);
    expect(after).toEqual(before);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
    const now = await messageNumbers(db.client);
    const newer = [...now].filter(([id]) => !originals.has(id)).map(([, n]) => Number(n));
    const highest = [...originals.values()].reduce((a, n) => Math.max(a, Number(n)), 0);
    expect(newer.length).toBeGreaterThan(0);
    expect(newer.every((n) => n > highest)).toBe(true);
    expect(new Set(now.values()).size).toBe(now.size);
    // Nova's send works against the restored schema and gets the next global number.
    const sent = await db.client.query<{ sequence_number: string }>(
      `INSERT INTO messages (conversation_id, sender_id, encrypted_content, nonce, content)
       VALUES (md5('conv3')::uuid, md5('user1')::uuid, 'x', 'n', 'after down') RETURNING sequence_number`,
    );
    expect(Number(sent.rows[0]!.sequence_number)).toBe(
      newer.reduce((a, n) => Math.max(a, n), 0) + 1,
    );
    await db.client.query(`DELETE FROM messages WHERE content = 'after down'`);
    expect(await novaEdit(db.client)).toBe(editErrorBefore);
    const leftovers = await db.client.query(
      `SELECT to_regclass('dbops.sequence_original_numbers') AS t,
              (SELECT count(*) FROM dbops.adopted WHERE family = 'sequence') AS n`,
    );
    expect(leftovers.rows[0]).toEqual({ t: null, n: '0' });
  }, 300_000);

  it('up again', async () => {
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url, cwd });
    const after = await record('up again', up.code);
    expect(up.code, up.stderr).toBe(0);
    expect(await wrongConversations(db.client, false)).toBe(0);
    expect(after.columns).toBe(before.columns);
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url, cwd });
    expect(check.code, check.stdout).toBe(0);
    expect(await tableChecksum(db.client, SEARCH)).toBe(searchBefore);
  }, 300_000);
});

describe("sequence on Nova's real schema as a role that may not set session_replication_role", () => {
  let db: TestDatabase;
  const role = `dbops_t_nova_${process.pid}`;
  let roleUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase('sequence_real_role');
    await loadRealFixture(db.client, 'sequence_real.sql');
    roleUrl = await novaOwnerRole(db.client, db, role);
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
    await dropRoles(db.url, [role]);
  });

  it("is refused naming Nova's triggers and --fire-app-triggers; with the flag, the rehearsal refuses on the broken trigger; nothing changed", async () => {
    const before = await catalogSnapshot(db.client, ['public']);
    const search = await tableChecksum(db.client, SEARCH);
    const plain = await runCli(['migrate', 'up', 'sequence'], { url: roleUrl });
    expect(plain.code).toBe(2);
    const text = plain.stderr.replace(/\s+/g, ' ');
    expect(text).toContain(
      "the backfill UPDATEs public.messages (sequence_number, content_tsv), which fires the application's triggers",
    );
    for (const trigger of [
      'message_search_sync_trigger (public.sync_message_search_index_on_edit)',
      'soft_delete_search_index_trigger (public.soft_delete_from_search_index)',
    ])
      expect(text).toContain(trigger);
    expect(text).toContain('--fire-app-triggers');
    const flagged = await runCli(['migrate', 'up', 'sequence', '--fire-app-triggers'], {
      url: roleUrl,
    });
    expect(flagged.code).toBe(2);
    expect(flagged.stderr.replace(/\s+/g, ' ')).toContain(
      'rehearsal: trigger message_search_sync_trigger (public.sync_message_search_index_on_edit) on public.messages fails on UPDATE: argument of OR must be type boolean',
    );
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(before);
    expect(await tableChecksum(db.client, SEARCH)).toBe(search);
  }, 60_000);

  it("with Nova's trigger fixed, --fire-app-triggers lets up run, and says its triggers fire on the backfill", async () => {
    await db.client.query(FIXED_NOVA_SEARCH_SYNC_SQL);
    const plain = await runCli(['migrate', 'up', 'sequence'], { url: roleUrl });
    expect(plain.code).toBe(2);
    const flagged = await runCli(['migrate', 'up', 'sequence', '--fire-app-triggers'], {
      url: roleUrl,
    });
    expect(flagged.code, flagged.stderr).toBe(0);
    expect(flagged.stdout.replace(/\s+/g, ' ')).toContain(
      "--fire-app-triggers: the application's triggers message_search_sync_trigger (public.sync_message_search_index_on_edit)",
    );
    expect(await wrongConversations(db.client)).toBe(0);
  }, 120_000);
});

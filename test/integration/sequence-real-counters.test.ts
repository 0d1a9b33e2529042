import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import {
  catalogSnapshot,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import { createGroup, removeMember, sendMessage } from '../helpers/novaMessagingService.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { wrongConversations } from '../helpers/sequenceReal.js';

/** A working directory whose dbops.config.json declares who writes which column. */
function withWriters(columnWriters: Record<string, string>): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 100, columnWriters }));
  return cwd;
}

/**
 * sequence_real.sql where conversations already has the counters 0002 would add, with stale
 * values (as a deployment that ran part of Nova's 060, or the messaging service's own columns):
 * member_count NOT NULL DEFAULT 0 and last_message_id; last_message_at first as text (not
 * adoptable), then fixed.
 */
const PRIOR_COLUMNS = `
ALTER TABLE conversations ADD COLUMN member_count integer NOT NULL DEFAULT 0,
                          ADD COLUMN last_message_id uuid,
                          ADD COLUMN last_message_at text;
UPDATE conversations SET member_count = 1, last_message_id = md5('msg1')::uuid
 WHERE conversation_type = 'group';`;

const APP_COUNTING_TRIGGER = `
CREATE FUNCTION app_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE conversations SET member_count = member_count + 1 WHERE id = NEW.conversation_id;
  RETURN NULL;
END $$;
CREATE TRIGGER app_count_members AFTER INSERT ON conversation_members
  FOR EACH ROW EXECUTE FUNCTION app_count_members();`;

describe('sequence adopts existing conversation counters when declared dbops-written', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sequence_real_counters');
    await loadRealFixture(db.client, 'sequence_real.sql');
    await db.client.query(PRIOR_COLUMNS);
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('refused in one round: undeclared writer, the application as writer, its trigger, a wrong type', async () => {
    const before = await catalogSnapshot(db.client, ['public']);
    const undeclared = await runCli(['migrate', 'up', 'sequence', '--dry-run'], {
      url: db.url,
      cwd: withWriters({}),
    });
    expect(undeclared.code).toBe(2);
    for (const column of ['member_count', 'last_message_id'])
      expect(undeclared.stderr).toContain(
        `column public.conversations.${column} already exists and the catalog cannot tell who writes it`,
      );
    expect(undeclared.stderr).toContain('columnWriters {"conversations.member_count": "dbops"}');

    await db.client.query(APP_COUNTING_TRIGGER);
    const declared = await runCli(['migrate', 'up', 'sequence'], {
      url: db.url,
      cwd: withWriters({
        'conversations.member_count': 'dbops',
        'conversations.last_message_id': 'app',
        'conversations.last_message_at': 'dbops',
      }),
    });
    expect(declared.code).toBe(2);
    const lines = declared.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(lines).toHaveLength(3);
    expect(declared.stderr).toContain(
      "column public.conversations.member_count already exists and the application's trigger(s) app_count_members on conversation_members (app_count_members) write it",
    );
    expect(declared.stderr).toContain(
      'column public.conversations.last_message_id already exists and is written by the application (config columnWriters "conversations.last_message_id": "app")',
    );
    expect(declared.stderr).toContain(
      'column public.conversations.last_message_at already exists as text; dbops adopts only timestamp with time zone',
    );
    await db.client.query(
      'DROP TRIGGER app_count_members ON conversation_members; DROP FUNCTION app_count_members()',
    );
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(before);
  }, 60_000);

  it('declared dbops-written: up adopts them, counters right; down puts values, defaults and catalog back', async () => {
    await db.client.query(
      'ALTER TABLE conversations ALTER COLUMN last_message_at TYPE timestamptz USING NULL',
    );
    const catalogBefore = await catalogSnapshot(db.client, ['public']);
    const conversationsBefore = await tableChecksum(db.client, 'public.conversations');
    const cwd = withWriters({
      'conversations.member_count': 'dbops',
      'conversations.last_message_id': 'dbops',
      'conversations.last_message_at': 'dbops',
    });
    const dry = await runCli(['migrate', 'up', 'sequence', '--dry-run'], { url: db.url, cwd });
    expect(dry.code, dry.stderr).toBe(0);
    for (const column of ['member_count', 'last_message_id', 'last_message_at'])
      expect(dry.stdout).toContain(`adopt public.conversations.${column} (columnWriters: "dbops")`);

    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url, cwd });
    expect(up.code, up.stderr).toBe(0);
    expect(await wrongConversations(db.client)).toBe(0);
    const stale = await db.client.query(
      `SELECT count(*)::int AS n FROM conversations c
        WHERE c.last_message_id IS DISTINCT FROM (SELECT m.id FROM messages m
               WHERE m.conversation_id = c.id AND m.created_at IS NOT NULL
               ORDER BY m.created_at DESC, m.id DESC LIMIT 1)`,
    );
    expect(stale.rows[0].n).toBe(0);
    const check = await runCli(['check', 'all', 'sequence'], { url: db.url, cwd });
    expect(check.code, check.stdout).toBe(0);
    // A member joins and leaves: counted once each (no second writer).
    await db.client.query(
      `INSERT INTO conversation_members (conversation_id, user_id) VALUES (md5('conv5')::uuid, md5('user299')::uuid)`,
    );
    expect(await wrongConversations(db.client)).toBe(0);
    await db.client.query(
      `DELETE FROM conversation_members WHERE conversation_id = md5('conv5')::uuid AND user_id = md5('user299')::uuid`,
    );
    expect(await wrongConversations(db.client)).toBe(0);

    const down = await runCli(['migrate', 'down', 'sequence', '--all'], { url: db.url, cwd });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(catalogBefore);
    expect(await tableChecksum(db.client, 'public.conversations')).toBe(conversationsBefore);
    const left = await db.client.query(
      `SELECT to_regclass('dbops.sequence_original_conversations') AS t,
              (SELECT count(*)::int FROM dbops.adopted WHERE family = 'sequence') AS n`,
    );
    expect(left.rows[0]).toEqual({ t: null, n: 0 });

    const again = await runCli(['migrate', 'up', 'sequence'], { url: db.url, cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(await wrongConversations(db.client)).toBe(0);
  }, 120_000);
});

describe("sequence on Nova's messaging-service schema: refused in one round", () => {
  let db: TestDatabase;
  afterAll(async () => {
    await db?.drop();
  });

  it('dry run and real run exit 2 with the same problems, nothing changed', async () => {
    db = await createTestDatabase('sequence_real_ms');
    await loadRealFixture(db.client, 'sequence_real_messaging_service.sql');
    const before = await catalogSnapshot(db.client, ['public']);
    const dry = await runCli(['migrate', 'up', 'sequence', '--dry-run'], { url: db.url });
    const real = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(dry.code).toBe(2);
    expect(real.code).toBe(2);
    expect(dry.stderr).toBe(real.stderr);
    for (const what of [
      'messages.content_tsv already exists',
      'conversations.member_count already exists and the catalog cannot tell who writes it',
      'count each one twice',
      'conversations.last_message_id already exists and the catalog cannot tell who writes it',
      'conversation_counters(last_seq) exists',
    ])
      expect(real.stderr).toContain(what);
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(before);
  }, 60_000);

  it('with the writers declared as the service has them, exactly what dbops cannot carry is named', async () => {
    const before = await catalogSnapshot(db.client, ['public']);
    // The service writes member_count (group creation, leave) and never writes last_message_id.
    const cwd = withWriters({
      'conversations.member_count': 'app',
      'conversations.last_message_id': 'dbops',
    });
    const real = await runCli(['migrate', 'up', 'sequence'], { url: db.url, cwd });
    expect(real.code).toBe(2);
    const lines = real.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(lines.map((l) => l.split(/ already| exists/)[0])).toEqual([
      '  - column public.messages.content_tsv',
      // The service's GIN index on it has the name of 0008's: kept in place of dbops', dropped by down.
      '  - index public.idx_messages_content_tsv',
      '  - column public.conversations.member_count',
      '  - table public.conversation_counters(last_seq)',
    ]);
    expect(real.stderr).toContain('"conversations.member_count": "app"');
    expect(real.stderr).not.toContain('last_message_id');
    expect(await catalogSnapshot(db.client, ['public'])).toEqual(before);
  }, 60_000);

  it("after the refusal the service's own writes work as before: it numbers messages and counts members itself", async () => {
    const user = (n: number) =>
      db.client.query(`SELECT md5('user' || $1::int)::uuid AS id`, [n]).then((r) => r.rows[0].id);
    const [a, b, c] = [await user(1), await user(2), await user(3)];
    const group = await createGroup(db.client, a, [b, c]);
    expect(await sendMessage(db.client, group, a, 'first')).toBe(1);
    expect(await sendMessage(db.client, group, b, 'second')).toBe(2);
    await removeMember(db.client, group, c);
    const { rows } = await db.client.query(
      `SELECT c.member_count, k.last_seq::int AS last_seq,
              (SELECT count(*)::int FROM conversation_members m WHERE m.conversation_id = c.id) AS members
         FROM conversations c JOIN conversation_counters k ON k.conversation_id = c.id WHERE c.id = $1`,
      [group],
    );
    expect(rows[0]).toEqual({ member_count: 2, last_seq: 2, members: 2 });
  });
});

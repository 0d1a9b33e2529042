import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSIGN_SEQUENCE_BODY } from '../../migrations/sequence/0003_message_sequence.js';
import { ADVANCE_LAST_MESSAGE_BODY } from '../../migrations/sequence/0005_last_message.js';
import {
  ADVANCE_LAST_MESSAGE_STATEMENT_BODY,
  ASSIGN_SEQUENCE_AND_TSV_BODY,
} from '../../migrations/sequence/0010_cheaper_insert_triggers.js';
import { novaBaseSchemaSql, seedNova } from '../../src/families/sequence/fixture.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, tableChecksum } from '../helpers/db.js';
import {
  chatTransaction,
  conversationIds,
  corruptSequence,
  NO_DRIFT,
  sequenceDrift,
} from '../helpers/sequence.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('sequence_resync');
  await db.client.query(novaBaseSchemaSql());
  await seedNova(db.client, { conversations: 300, messages: 15_000 });
  const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
  expect(up.code, up.stderr).toBe(0);
});
afterAll(() => db.drop());

async function checkJson(args: string[]) {
  const r = await runCli(['check', ...args, '--format', 'json'], { url: db.url });
  return { code: r.code, doc: JSON.parse(r.stdout), stderr: r.stderr };
}

type Item = { id: string; status: string; count: number; sample: string[]; hint: string };
const byId = (doc: { checks: Item[] }, id: string) => doc.checks.find((c) => c.id === id)!;

/** Rows of the three tables as a fingerprint (a dry run must leave it unchanged). */
async function fingerprint(): Promise<string[]> {
  const sums: string[] = [];
  for (const t of ['conversations', 'conversation_members', 'messages'])
    sums.push(await tableChecksum(db.client, `public.${t}`));
  return sums;
}

/** Deletes and raised counters (gaps) are legitimate; everything else must be exact. */
async function expectOnlyGaps() {
  expect({ ...(await sequenceDrift(db.client)), gaps: 0, counter: 0 }).toEqual(NO_DRIFT);
  const { doc } = await checkJson(['consistency', 'sequence']);
  expect(doc.checks.filter((c: Item) => c.status !== 'ok').map((c: Item) => c.id)).toEqual([
    'sequence.gaps',
  ]);
}

describe('sequence checks and resync', () => {
  it('a healthy database reports ok for every sequence check (exit 0)', async () => {
    const { code, doc } = await checkJson(['all', 'sequence']);
    expect(code, JSON.stringify(doc.checks)).toBe(0);
    expect(doc.checks.map((c: Item) => [c.id, c.status])).toEqual([
      ['sequence.schema', 'ok'],
      ['conversation.last-message', 'ok'],
      ['conversation.member-count', 'ok'],
      ['sequence.counter', 'ok'],
      ['sequence.duplicates', 'ok'],
      ['sequence.gaps', 'ok'],
      ['sequence.nulls', 'ok'],
    ]);
  });

  it('finds exactly the drift created, with the right sample keys; the dry run counts it and changes nothing; resync repairs it', async () => {
    const keys = await corruptSequence(db.client);
    const { code, doc } = await checkJson(['all', 'sequence']);
    expect(code).toBe(1);
    expect(byId(doc, 'sequence.schema')).toMatchObject({
      status: 'fail',
      count: 1,
      sample: ['index uq_messages_conversation_sequence is missing'],
    });
    for (const [id, expected] of Object.entries(keys)) {
      const item = byId(doc, id);
      expect(item, id).toMatchObject({
        count: expected.length,
        status: id === 'sequence.gaps' ? 'warn' : 'fail',
      });
      expect(item.sample, id).toEqual(expected.slice(0, 5));
    }
    expect(byId(doc, 'sequence.nulls').hint).toBe('dbops resync sequence-numbers');
    expect(byId(doc, 'conversation.member-count').hint).toBe('dbops resync conversation-stats');

    const before = await fingerprint();
    const dry = await runCli(
      ['resync', 'conversation-stats', 'sequence-numbers', '--dry-run', '--format', 'json'],
      { url: db.url },
    );
    expect(dry.code, dry.stderr).toBe(0);
    const targets = JSON.parse(dry.stdout).targets;
    // conversation-stats: 2 counters below max, 2 member counts, 2 last messages.
    // sequence-numbers: 3 messages without a number and 2 extra copies (the originals keep theirs).
    expect(targets.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([
      ['conversation-stats', 'dry-run'],
      ['sequence-numbers', 'dry-run'],
    ]);
    expect(targets[0].numbers).toMatchObject({ inserted: 0, updated: 6, deleted: 0 });
    expect(targets[1].numbers).toMatchObject({ inserted: 0, updated: 5, deleted: 0 });
    expect(await fingerprint()).toEqual(before);

    const originalsSql = `SELECT id, sequence_number FROM messages
      WHERE id = ANY ($1) AND content <> 'copy' ORDER BY id`;
    const originals = await db.client.query(originalsSql, [keys['sequence.duplicates']]);
    expect(originals.rows).toHaveLength(2);
    const run = await runCli(
      [
        'resync',
        'conversation-stats',
        'sequence-numbers',
        '--batch-size',
        '40',
        '--format',
        'json',
      ],
      { url: db.url },
    );
    expect(run.code, run.stderr).toBe(0);
    const done = JSON.parse(run.stdout).targets;
    expect(done[0].numbers).toMatchObject({ updated: 6, batches: 8 });
    expect(done[1].numbers).toMatchObject({ updated: 5, batches: 8 });
    expect(run.stderr).toContain('resync sequence-numbers: 300/300');
    await expectOnlyGaps();
    // The originals keep the numbers clients have seen; the copies got fresh ones.
    expect((await db.client.query(originalsSql, [keys['sequence.duplicates']])).rows).toEqual(
      originals.rows,
    );

    const again = await runCli(
      ['resync', 'conversation-stats', 'sequence-numbers', '--format', 'json'],
      { url: db.url },
    );
    for (const t of JSON.parse(again.stdout).targets)
      expect(t.numbers).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });

    const redo = await runCli(['migrate', 'redo', 'sequence', '--count', '3'], { url: db.url });
    expect(redo.code, redo.stderr).toBe(0);
    expect(byId((await checkJson(['schema', 'sequence'])).doc, 'sequence.schema').status).toBe(
      'ok',
    );
  });

  it("0010's down puts back 0003's and 0005's insert triggers and functions exactly; up again", async () => {
    const definitions = async () => {
      const { rows } = await db.client.query<{ name: string; def: string }>(
        `SELECT tgname AS name, pg_get_triggerdef(oid) AS def FROM pg_trigger
          WHERE tgrelid = 'messages'::regclass
            AND tgname IN ('set_message_content_tsv', 'update_last_message_on_insert')
          ORDER BY tgname`,
      );
      const { rows: fns } = await db.client.query<{ name: string; src: string }>(
        `SELECT proname AS name, prosrc AS src FROM pg_proc
          WHERE proname IN ('assign_message_sequence', 'advance_last_message') ORDER BY proname`,
      );
      return { triggers: rows.map((r) => r.def), bodies: fns.map((f) => [f.name, f.src.trim()]) };
    };
    const down = await runCli(['migrate', 'down', 'sequence', '--count', '1'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(await definitions()).toEqual({
      triggers: [
        'CREATE TRIGGER set_message_content_tsv BEFORE INSERT OR UPDATE OF content ON public.messages FOR EACH ROW EXECUTE FUNCTION message_content_tsv()',
        'CREATE TRIGGER update_last_message_on_insert AFTER INSERT ON public.messages FOR EACH ROW EXECUTE FUNCTION advance_last_message()',
      ],
      bodies: [
        ['advance_last_message', ADVANCE_LAST_MESSAGE_BODY.trim()],
        ['assign_message_sequence', ASSIGN_SEQUENCE_BODY.trim()],
      ],
    });
    const up = await runCli(['migrate', 'up', 'sequence'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await definitions()).toEqual({
      triggers: [
        'CREATE TRIGGER set_message_content_tsv BEFORE UPDATE OF content ON public.messages FOR EACH ROW EXECUTE FUNCTION message_content_tsv()',
        'CREATE TRIGGER update_last_message_on_insert AFTER INSERT ON public.messages REFERENCING NEW TABLE AS inserted_messages FOR EACH STATEMENT EXECUTE FUNCTION advance_last_message()',
      ],
      bodies: [
        ['advance_last_message', ADVANCE_LAST_MESSAGE_STATEMENT_BODY.trim()],
        ['assign_message_sequence', ASSIGN_SEQUENCE_AND_TSV_BODY.trim()],
      ],
    });
    expect(byId((await checkJson(['schema', 'sequence'])).doc, 'sequence.schema').status).toBe(
      'ok',
    );
  });

  it('the schema check reports a disabled trigger and a replaced function body', async () => {
    await db.client.query('ALTER TABLE messages DISABLE TRIGGER set_message_sequence');
    await db.client.query(
      `CREATE OR REPLACE FUNCTION advance_last_message() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$`,
    );
    const { code, doc } = await checkJson(['schema', 'sequence']);
    expect(code).toBe(1);
    const schema = byId(doc, 'sequence.schema');
    expect(schema.count).toBe(2);
    expect([...schema.sample].sort()).toEqual([
      'function advance_last_message has a body that differs from what its migration installed',
      'trigger set_message_sequence is disabled',
    ]);
    await db.client.query('ALTER TABLE messages ENABLE TRIGGER set_message_sequence');
    const redo = await runCli(['migrate', 'redo', 'sequence', '--count', '6'], { url: db.url });
    expect(redo.code, redo.stderr).toBe(0);
    expect((await checkJson(['schema', 'sequence'])).code).toBe(0);
  });

  it('repairs drift while 6 writers write to the same conversations: zero drift after, no error but the documented underflow', async () => {
    const keys = await corruptSequence(db.client);
    const ids = (await conversationIds(db.client)).slice(0, 40);
    const writers = await Promise.all(Array.from({ length: 6 }, () => db.connect()));
    const errors: { code?: string; message: string }[] = [];
    const resync = startCli(
      ['resync', 'conversation-stats', 'sequence-numbers', '--batch-size', '5'],
      { url: db.url },
    );
    let done = false;
    void resync.done.then(() => {
      done = true;
    });
    let transactions = 0;
    await Promise.all(
      writers.map(async (w) => {
        while (!done) {
          const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
          await chatTransaction(w, [pick(), pick()], 1_900_000_000 + transactions, 0).catch((err) =>
            errors.push(err),
          );
          transactions += 1;
        }
        await w.end();
      }),
    );
    const result = await resync.done;
    expect(result.code, result.stderr).toBe(0);
    // A member leaving a conversation whose member_count was set to 0 before the resync got to
    // it fails with the underflow error (as it must: the count was wrong); nothing else fails.
    const underflow = (e: { code?: string; message: string }) =>
      e.code === '23514' && keys['conversation.member-count'].some((k) => e.message.includes(k));
    expect(errors.filter((e) => !underflow(e))).toEqual([]);
    expect(transactions).toBeGreaterThan(20);
    await expectOnlyGaps();
    const redo = await runCli(['migrate', 'redo', 'sequence', '--count', '3'], { url: db.url });
    expect(redo.code, redo.stderr).toBe(0);
  });
});

/**
 * `dbops migrate up sequence` on a big Nova database while a writer keeps sending messages
 * (10 per statement, over random conversations, rows ordered by conversation_id as documented;
 * every 10th statement also adds a member): the migration's time per step, the writer's longest
 * statement (how long it was blocked) and its slow statements placed on the migration's
 * timeline, then an independent check that numbers and counters are exact.
 *
 * With --real, on Nova's real schema instead (shared/fixtures/real/sequence_real.sql, grown to
 * `messages` messages over `conversations` conversations): the global BIGSERIAL sequence_number
 * is adopted, Nova's row triggers on messages are in place, and the writer is Nova's own send
 * (one message per INSERT, then the number read back as the service does; every 10th send also
 * adds a member).
 *
 *   npm run build && node dist/bench/online-sequence.js [--real] [messages=1000000] [conversations=20000]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { growRealNova, novaBaseSchemaSql, seedNova } from '../src/families/sequence/fixture.js';
import { packageRoot } from '../src/paths.js';
import { runDbops } from './lib/cli.js';
import { createBenchDatabase } from './lib/db.js';
import { startWriter } from './lib/writer.js';

const real = process.argv.includes('--real');
const args = process.argv.slice(2).filter((a) => a !== '--real');
const messages = Number(args[0] ?? 1_000_000);
const conversations = Number(args[1] ?? 20_000);
/** sequence_real.sql's own messages, before it is grown. */
const REAL_FIXTURE_MESSAGES = 12_000;

/** Every invariant of the family, by plain aggregates (no dbops SQL). Each count should be 0. */
const DRIFT = `
WITH m AS (
  SELECT conversation_id, count(*) AS n, count(sequence_number) AS numbered,
         count(DISTINCT sequence_number) AS distinct_numbers,
         min(sequence_number) AS lowest, max(sequence_number) AS highest
    FROM messages GROUP BY conversation_id
), members AS (
  SELECT conversation_id, count(*) AS n FROM conversation_members GROUP BY conversation_id
), newest AS (
  SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at
    FROM messages WHERE created_at IS NOT NULL
   ORDER BY conversation_id, created_at DESC, id DESC
)
SELECT
  (SELECT coalesce(sum(numbered - distinct_numbers), 0) FROM m)::int AS duplicates,
  (SELECT coalesce(sum(n - numbered), 0) FROM m)::int AS nulls,
  (SELECT count(*) FROM m WHERE lowest <> 1 OR highest <> n OR distinct_numbers <> n)::int AS gaps,
  (SELECT count(*) FROM conversations c LEFT JOIN m ON m.conversation_id = c.id
    WHERE c.last_sequence_number IS DISTINCT FROM coalesce(m.highest, 0))::int AS counter,
  (SELECT count(*) FROM conversations c LEFT JOIN members ON members.conversation_id = c.id
    WHERE c.member_count IS DISTINCT FROM coalesce(members.n, 0)::int)::int AS member_count,
  (SELECT count(*) FROM conversations c LEFT JOIN newest ON newest.conversation_id = c.id
    WHERE c.last_message_id IS DISTINCT FROM newest.id
       OR c.last_message_at IS DISTINCT FROM newest.created_at)::int AS last_message,
  (SELECT count(*) FROM (
     SELECT sequence_number, row_number() OVER (PARTITION BY conversation_id
                                                ORDER BY created_at ASC NULLS FIRST, id) AS rank
       FROM messages WHERE content NOT LIKE 'bench %') h
    WHERE sequence_number IS DISTINCT FROM rank)::int AS history_misnumbered`;

const db = await createBenchDatabase('online_sequence');
try {
  let t = performance.now();
  if (real) {
    const fixture = join(packageRoot, '..', 'shared', 'fixtures', 'real', 'sequence_real.sql');
    await db.client.query(readFileSync(fixture, 'utf8'));
    await growRealNova(db.client, {
      messages: messages - REAL_FIXTURE_MESSAGES,
      conversations,
    });
  } else {
    await db.client.query(novaBaseSchemaSql());
    await seedNova(db.client, { conversations, messages });
  }
  await db.client.query('VACUUM ANALYZE');
  console.log(
    `seeded ${messages} messages over ${conversations} conversations${real ? ' (sequence_real.sql)' : ''} in ${Math.round(performance.now() - t)} ms`,
  );
  const ids = (await db.client.query('SELECT id FROM conversations')).rows.map((r) => r.id);

  const slow: { atMs: number; ms: number }[] = [];
  let sent = 0;
  let started = performance.now();
  /** Nova's send on its real schema: INSERT, then the number read back (seed 002_5dc26d723e23e88a). */
  const sendLikeNova = async (c: pg.Client) => {
    const conversation = ids[Math.floor(Math.random() * ids.length)];
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO messages (conversation_id, sender_id, encrypted_content, nonce, content)
       VALUES ($1, md5('user1')::uuid, 'x', 'n', 'bench ' || $2::int) RETURNING id`,
      [conversation, sent],
    );
    const read = await c.query('SELECT id, sequence_number FROM messages WHERE id = $1', [
      rows[0]!.id,
    ]);
    if (read.rows[0]?.sequence_number == null) throw new Error('sequence_number read back NULL');
    if (++sent % 10 === 0)
      await c.query(
        `INSERT INTO conversation_members (conversation_id, user_id)
         VALUES ($1, md5('user' || (1 + $2::int % 300))::uuid) ON CONFLICT DO NOTHING`,
        [conversation, sent],
      );
  };
  const write = async (c: pg.Client) => {
    const begin = performance.now();
    if (real) {
      await sendLikeNova(c);
      const ms = performance.now() - begin;
      if (ms > 250) slow.push({ atMs: Math.round(begin - started), ms: Math.round(ms) });
      return;
    }
    const batch = Array.from({ length: 10 }, () => ids[Math.floor(Math.random() * ids.length)]);
    await c.query(
      `INSERT INTO messages (conversation_id, sender_id, content)
       SELECT conversation_id, gen_random_uuid(), 'bench ' || $2::int
         FROM unnest($1::uuid[]) AS conversation_id ORDER BY conversation_id`,
      [batch, sent],
    );
    if (++sent % 10 === 0)
      await c.query(
        'INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, gen_random_uuid())',
        [batch[0]],
      );
    const ms = performance.now() - begin;
    if (ms > 250) slow.push({ atMs: Math.round(begin - started), ms: Math.round(ms) });
  };
  const writer = startWriter(await db.connect(), write);
  await new Promise((r) => setTimeout(r, 2000)); // the writer's latency before the migration
  const round = (l: number[]) => l.map((x) => Math.round(x * 100) / 100);
  const loadBefore = round(loadavg());
  t = performance.now();
  started = t;
  const run = await runDbops(['--format', 'json', 'migrate', 'up', 'sequence'], db.url);
  const migrateMs = Math.round(performance.now() - t);
  const loadAfter = round(loadavg());
  await new Promise((r) => setTimeout(r, 1000));
  const stats = await writer.stop();
  if (run.code !== 0) throw new Error(`migrate up failed (${run.code}): ${run.stderr}`);

  let at = 0;
  const steps = (
    JSON.parse(run.stdout).migrations as { id: string; numbers: { durationMs: number } }[]
  ).map((m) => {
    at += m.numbers.durationMs;
    return { step: m.id, ms: m.numbers.durationMs, endsAtMs: at };
  });
  t = performance.now();
  const drift = (await db.client.query(DRIFT)).rows[0];
  console.log(
    JSON.stringify(
      {
        schema: real ? 'sequence_real.sql' : 'UPSTREAM.md base schema',
        messages,
        conversations,
        loadAverage: { beforeUp: loadBefore, afterUp: loadAfter },
        migrateMs,
        steps,
        writer: { ...stats, messagesSent: real ? sent : sent * 10 },
        slowWrites: slow,
        drift,
        checkMs: Math.round(performance.now() - t),
      },
      null,
      2,
    ),
  );
} finally {
  await db.drop();
}

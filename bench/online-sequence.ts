/**
 * `dbops migrate up sequence` on a big Nova database while a writer keeps sending messages
 * (10 per statement, over random conversations, rows ordered by conversation_id as documented;
 * every 10th statement also adds a member): the migration's time per step, the writer's longest
 * statement (how long it was blocked) and its slow statements placed on the migration's
 * timeline, then an independent check that numbers and counters are exact.
 *
 *   npm run build && node dist/bench/online-sequence.js [messages=1000000] [conversations=20000]
 */
import type pg from 'pg';
import { novaBaseSchemaSql, seedNova } from '../src/families/sequence/fixture.js';
import { runDbops } from './lib/cli.js';
import { createBenchDatabase } from './lib/db.js';
import { startWriter } from './lib/writer.js';

const messages = Number(process.argv[2] ?? 1_000_000);
const conversations = Number(process.argv[3] ?? 20_000);

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
  await db.client.query(novaBaseSchemaSql());
  let t = performance.now();
  await seedNova(db.client, { conversations, messages });
  await db.client.query('VACUUM ANALYZE');
  console.log(
    `seeded ${messages} messages over ${conversations} conversations in ${Math.round(performance.now() - t)} ms`,
  );
  const ids = (await db.client.query('SELECT id FROM conversations')).rows.map((r) => r.id);

  const slow: { atMs: number; ms: number }[] = [];
  let sent = 0;
  let started = performance.now();
  const write = async (c: pg.Client) => {
    const begin = performance.now();
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
  t = performance.now();
  started = t;
  const run = await runDbops(['--format', 'json', 'migrate', 'up', 'sequence'], db.url);
  const migrateMs = Math.round(performance.now() - t);
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
        messages,
        conversations,
        migrateMs,
        steps,
        writer: { ...stats, messagesSent: sent * 10 },
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

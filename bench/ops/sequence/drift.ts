import type pg from 'pg';

/**
 * Every invariant of the family by plain aggregates, independent of dbops' SQL and of the
 * baselines (GROUP BY, DISTINCT ON, one window over all messages). Each count is 0 on exact data
 * without deletes: numbers are 1..n per conversation in history order, counters exact.
 */
export const TRUTH_SQL = `
WITH m AS (
  SELECT conversation_id, count(*) AS n, count(sequence_number) AS numbered,
         count(DISTINCT sequence_number) AS distinct_numbers,
         min(sequence_number) AS lowest, max(sequence_number) AS highest
    FROM public.messages GROUP BY conversation_id
), members AS (
  SELECT conversation_id, count(*) AS n FROM public.conversation_members GROUP BY conversation_id
), newest AS (
  SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at
    FROM public.messages WHERE created_at IS NOT NULL
   ORDER BY conversation_id, created_at DESC, id DESC
)
SELECT
  (SELECT coalesce(sum(numbered - distinct_numbers), 0) FROM m)::int AS duplicates,
  (SELECT coalesce(sum(n - numbered), 0) FROM m)::int AS nulls,
  (SELECT count(*) FROM m WHERE lowest <> 1 OR highest <> n OR distinct_numbers <> n)::int AS gaps,
  (SELECT count(*) FROM public.conversations c LEFT JOIN m ON m.conversation_id = c.id
    WHERE c.last_sequence_number IS DISTINCT FROM coalesce(m.highest, 0))::int AS counter,
  (SELECT count(*) FROM public.conversations c LEFT JOIN members ON members.conversation_id = c.id
    WHERE c.member_count IS DISTINCT FROM coalesce(members.n, 0)::int)::int AS member_count,
  (SELECT count(*) FROM public.conversations c LEFT JOIN newest ON newest.conversation_id = c.id
    WHERE c.last_message_id IS DISTINCT FROM newest.id
       OR c.last_message_at IS DISTINCT FROM newest.created_at)::int AS last_message,
  (SELECT count(*) FROM (
     SELECT sequence_number, row_number() OVER (PARTITION BY conversation_id
                                                ORDER BY created_at ASC NULLS FIRST, id) AS rank
       FROM public.messages) h
    WHERE sequence_number IS DISTINCT FROM rank)::int AS misnumbered,
  (SELECT count(*) FROM public.messages WHERE content_tsv IS NULL)::int AS no_tsv`;

/** Throws unless every count of TRUTH_SQL is 0. */
export async function expectExact(client: pg.ClientBase, what: string): Promise<void> {
  const { rows } = await client.query<Record<string, number>>(TRUTH_SQL);
  const wrong = Object.entries(rows[0]!).filter(([, n]) => n !== 0);
  if (wrong.length > 0) throw new Error(`${what}: not exact: ${JSON.stringify(rows[0])}`);
}

/** What the drift made, as the resyncs count it. */
export interface SequenceDrift {
  /** Messages whose number was set to NULL (sequence-numbers renumbers them). */
  nulls: number;
  /** Conversations whose counters were changed (conversation-stats repairs them). */
  conversations: number;
}

/**
 * Drifts the exact, fully migrated data in the ways the resyncs repair, spread over the key
 * range (bucket = conversation row number mod 100, in id order):
 * - buckets 0-19: every 10th message (by a hash of its id) loses its number, as rows written
 *   with the triggers disabled have none;
 * - 50-53: last_sequence_number one below the highest number (conversations with messages);
 * - 54-56: member_count one too high; 57-59: last_message_at an hour off.
 * The two kinds touch different conversations, so each resync's result is known exactly:
 * saved first are the true counters (bench_conversations_true, checked exact by TRUTH_SQL) and
 * the numbers sequence-numbers must hand out (bench_numbers_expected: above the counter, in
 * history order). The drifted state is saved too, to restore before every timed run.
 */
export async function createDrift(client: pg.ClientBase): Promise<SequenceDrift> {
  await expectExact(client, 'before drifting');
  await client.query(`
    CREATE TABLE public.bench_conversations_true AS
    SELECT id, last_sequence_number, member_count, last_message_id, last_message_at
      FROM public.conversations`);
  await client.query(`
    CREATE TEMP TABLE bench_buckets AS
    SELECT id, (row_number() OVER (ORDER BY id) % 100)::int AS bucket FROM public.conversations`);
  await client.query(`
    CREATE TABLE public.bench_nulled AS
    SELECT m.id, m.conversation_id FROM public.messages m
      JOIN bench_buckets b ON b.id = m.conversation_id
     WHERE b.bucket < 20 AND abs(hashtext(m.id::text)) % 10 = 0`);
  await client.query(`
    CREATE TABLE public.bench_numbers_expected AS
    SELECT m.id, c.last_sequence_number
                 + row_number() OVER (PARTITION BY m.conversation_id
                                      ORDER BY m.created_at ASC NULLS FIRST, m.id) AS n
      FROM public.messages m
      JOIN public.bench_nulled x ON x.id = m.id
      JOIN public.conversations c ON c.id = m.conversation_id`);
  await client.query(`
    UPDATE public.messages m SET sequence_number = NULL FROM public.bench_nulled x WHERE x.id = m.id`);
  const stats = await client.query(`
    UPDATE public.conversations c
       SET last_sequence_number = CASE WHEN b.bucket BETWEEN 50 AND 53
                                       THEN c.last_sequence_number - 1 ELSE c.last_sequence_number END,
           member_count = CASE WHEN b.bucket BETWEEN 54 AND 56
                               THEN c.member_count + 1 ELSE c.member_count END,
           last_message_at = CASE WHEN b.bucket BETWEEN 57 AND 59
                                  THEN c.last_message_at - interval '1 hour' ELSE c.last_message_at END
      FROM bench_buckets b
     WHERE b.id = c.id AND c.last_sequence_number > 0
       AND (b.bucket BETWEEN 50 AND 56 OR (b.bucket BETWEEN 57 AND 59 AND c.last_message_at IS NOT NULL))`);
  await client.query('DROP TABLE bench_buckets');
  await client.query(`
    CREATE TABLE public.bench_conversations_drifted AS
    SELECT id, last_sequence_number, member_count, last_message_id, last_message_at
      FROM public.conversations`);
  await settle(client);
  const { rows } = await client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM public.bench_nulled',
  );
  return { nulls: rows[0]!.n, conversations: stats.rowCount ?? 0 };
}

/** Puts the drift back (after a resync repaired part of it), then settles the tables. */
export async function restoreDrift(client: pg.ClientBase): Promise<void> {
  await client.query(`
    UPDATE public.messages m SET sequence_number = NULL
      FROM public.bench_nulled x WHERE x.id = m.id AND m.sequence_number IS NOT NULL`);
  await client.query(`
    UPDATE public.conversations c
       SET last_sequence_number = d.last_sequence_number, member_count = d.member_count,
           last_message_id = d.last_message_id, last_message_at = d.last_message_at
      FROM public.bench_conversations_drifted d
     WHERE d.id = c.id
       AND (c.last_sequence_number, c.member_count, c.last_message_id, c.last_message_at)
           IS DISTINCT FROM (d.last_sequence_number, d.member_count, d.last_message_id, d.last_message_at)`);
  await settle(client);
}

/** Messages whose number differs from the expected one (and renumbered conversations' counters). */
export async function misnumberedAfterResync(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`
    SELECT (SELECT count(*) FROM public.bench_numbers_expected e
              JOIN public.messages m ON m.id = e.id
             WHERE m.sequence_number IS DISTINCT FROM e.n)
         + (SELECT count(*) FROM public.messages WHERE sequence_number IS NULL)
         + (SELECT count(*) FROM (SELECT 1 FROM public.messages WHERE sequence_number IS NOT NULL
                                   GROUP BY conversation_id, sequence_number HAVING count(*) > 1) d)
         + (SELECT count(*) FROM public.conversations c
              JOIN (SELECT conversation_id, max(sequence_number) AS top FROM public.messages
                     WHERE conversation_id IN (SELECT conversation_id FROM public.bench_nulled)
                     GROUP BY conversation_id) t ON t.conversation_id = c.id
             WHERE c.last_sequence_number <> t.top) AS n`);
  return Number(rows[0]!.n);
}

/** Conversations whose counters differ from the true ones saved before the drift. */
export async function wrongCounters(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`
    SELECT count(*)::int AS n
      FROM public.bench_conversations_true t JOIN public.conversations c ON c.id = t.id
     WHERE (c.last_sequence_number, c.member_count, c.last_message_id, c.last_message_at)
           IS DISTINCT FROM (t.last_sequence_number, t.member_count, t.last_message_id, t.last_message_at)`);
  return rows[0]!.n;
}

/** VACUUM ANALYZE what the drift and the resyncs write, then CHECKPOINT. */
export async function settle(client: pg.ClientBase): Promise<void> {
  await client.query('VACUUM ANALYZE public.messages, public.conversations');
  await client.query('CHECKPOINT');
}

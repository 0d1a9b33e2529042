/**
 * sequence 0007: numbers the messages that existed before the triggers and computes every
 * counter of the conversations created before them (those whose last_sequence_number is NULL),
 * in committed batches of whole conversations, in id order.
 *
 * Nothing is missed: the triggers (0003-0005) committed first, so every message written since
 * carries a number or sits in a conversation still NULL, and every writer of a conversation holds
 * its row lock until commit. sequence_backfill_batch() takes the locks of its batch first and
 * reads in its next statement, whose snapshot (READ COMMITTED) includes everything those writers committed; a
 * writer that comes after waits for the batch to commit and then applies its change on top of
 * the computed values. Writers of a conversation in the current batch wait for that batch only
 * (about batchSize messages), never for the whole backfill.
 *
 * Nothing is renumbered: only messages with a NULL number get one, above the conversation's
 * current maximum, and only conversations still NULL are visited, so a rerun after Ctrl-C or a
 * failure continues where the last committed batch stopped and changes nothing already done.
 *
 * History order: (created_at, id) ascending, ties broken by id; messages WITHOUT created_at come
 * FIRST (an unknown time is taken as older than every known one), among themselves by id.
 * Messages that arrive while a conversation is still NULL are numbered with its history in the
 * same order; after that, in arrival order (the trigger).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { HAND_OVER_TO_TRIGGER_SQL, isAdopted } from '../../src/families/sequence/adopt.js';
import { type MigrationContext, runBatches } from '../../src/migrate/context.js';
import { createFunctionSql, dropFunctionSql, type PlpgsqlFunction } from '../../src/migrate/ddl.js';
import { execOnline } from '../../src/migrate/online.js';

/**
 * One batch, set-based: the conversations after `after` (in id order) up to the one holding the
 * `max_messages`-th message after it, at most `max_messages` of them (so a batch writes about
 * that many messages whatever the sizes; the bound is read from the (conversation_id,
 * created_at) index). Of those, the ones whose counter is still NULL are locked (their
 * unnumbered messages first, then the conversations, in id order: the order writers lock them),
 * and then, in the next statements (READ COMMITTED: snapshots taken after the locks, see the
 * header), all their unnumbered messages are numbered by one window over the batch, after each
 * conversation's current maximum, and their counters computed from scratch. The rows it numbers
 * also get content_tsv when it is missing, so each old message is written once, not twice.
 *
 * Set-based because per conversation (a function call with four statements each, as this
 * migration first did) the backfill took 1.7x one UPDATE over the whole table at 200,000
 * messages (bench/ops/sequence.ts), mostly in per-statement overhead for the many small
 * conversations. The batch commits with synchronous_commit off: a crash can lose only the last
 * batches, whose conversations are still NULL and are numbered again by the rerun (a writer that
 * waited for a batch commits after it, and its own synchronous commit flushes the batch's too).
 * Returns the key to resume after (NULL when done), the conversations looked at and the messages
 * numbered.
 *
 * An adopted column (src/families/sequence/adopt.ts) holds global numbers: there every message of
 * a batch's uncounted conversations is renumbered from 1, after its original number is saved in
 * the same transaction (before it is overwritten; a rerun keeps the first saved original).
 *
 * The batch's messages are locked NOWAIT once its conversations are: a message locked by someone
 * else fails the batch (55P03; runBatches runs it again after a short wait) instead of waiting for
 * it while holding the conversations. A hard DELETE of a message locks the message first and then,
 * in 0005's statement trigger, its conversation: waiting for it here deadlocked (40P01 for the
 * application's DELETE or for the batch; seen on sequence_real.sql with Nova's deletes running).
 *
 * The engine runs the batches with session_replication_role = replica when allowed, so no trigger
 * fires on these UPDATEs: not the application's (Nova's search-index triggers), not dbops' own.
 * Nothing here needs its own: numbers, content_tsv and all four counters are written by this
 * statement itself, and the columns it updates are not ones the family's triggers watch.
 */
export const BACKFILL_BATCH_BODY = `
DECLARE
  bound uuid;
  batch uuid[];
  todo uuid[];
  adopted boolean := to_regclass('dbops.sequence_original_numbers') IS NOT NULL;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'sequence_backfill_batch needs READ COMMITTED, not %',
      current_setting('transaction_isolation')
      USING HINT = 'Unset default_transaction_isolation for the dbops session.';
  END IF;
  SELECT conversation_id INTO bound FROM messages
   WHERE after IS NULL OR conversation_id > after
   ORDER BY conversation_id OFFSET greatest(max_messages - 1, 0) LIMIT 1;
  SELECT array_agg(id ORDER BY id), array_agg(id ORDER BY id) FILTER (WHERE pending)
    INTO batch, todo
    FROM (SELECT id, last_sequence_number IS NULL AS pending FROM conversations
           WHERE (after IS NULL OR id > after) AND (bound IS NULL OR id <= bound)
           ORDER BY id LIMIT max_messages) b;
  next := batch[cardinality(batch)]::text;
  keys := coalesce(cardinality(batch), 0);
  numbered := 0;
  IF todo IS NULL THEN
    RETURN;
  END IF;
  -- Writers lock a message and then its conversation (a delete or a move refreshes the
  -- conversation's last message, 0005), so the batch takes its locks in that order: first the
  -- messages it will number, then the conversations, and from then on it waits at most half
  -- deadlock_timeout for any lock (a message inserted meanwhile, a conversation being deleted
  -- with its messages): it times out and is retried before the writer's deadlock check could
  -- make the writer the victim (src/migrate/lockOrder.ts). Found by the chaos suite: hard
  -- deletes during the backfill failed with 40P01.
  PERFORM 1 FROM messages WHERE conversation_id = ANY (todo) AND (adopted OR sequence_number IS NULL)
    ORDER BY id FOR UPDATE;
  PERFORM set_config('lock_timeout',
    greatest(1, (extract(epoch FROM current_setting('deadlock_timeout')::interval) * 500)::int) || 'ms', true);
  PERFORM 1 FROM conversations WHERE id = ANY (todo) ORDER BY id FOR NO KEY UPDATE;
  PERFORM 1 FROM messages WHERE conversation_id = ANY (todo) FOR NO KEY UPDATE NOWAIT;
  PERFORM set_config('synchronous_commit', 'off', true);
  IF adopted THEN
    INSERT INTO dbops.sequence_original_numbers (message_id, sequence_number)
    SELECT id, sequence_number FROM messages
     WHERE conversation_id = ANY (todo) AND sequence_number IS NOT NULL
    ON CONFLICT (message_id) DO NOTHING;
  END IF;
  WITH base AS (
    SELECT c.id, CASE WHEN adopted THEN 0
                      ELSE greatest(coalesce(c.last_sequence_number, 0),
                                    coalesce((SELECT max(sequence_number) FROM messages
                                               WHERE conversation_id = c.id), 0)) END AS base
      FROM conversations c WHERE c.id = ANY (todo)
  ), fresh AS (
    SELECT m.id, b.base + row_number() OVER (PARTITION BY m.conversation_id
                                             ORDER BY m.created_at ASC NULLS FIRST, m.id) AS n
      FROM messages m JOIN base b ON b.id = m.conversation_id
     WHERE adopted OR m.sequence_number IS NULL
  ), written AS (
    UPDATE messages m
       SET sequence_number = f.n,
           content_tsv = coalesce(m.content_tsv,
                                  to_tsvector('english'::regconfig, coalesce(m.content, '')))
      FROM fresh f
     WHERE m.id = f.id AND (adopted OR m.sequence_number IS NULL)
    RETURNING m.conversation_id
  ), per AS (
    SELECT conversation_id, count(*) AS n FROM written GROUP BY conversation_id
  ), members AS (
    SELECT conversation_id, count(*)::integer AS n FROM conversation_members
     WHERE conversation_id = ANY (todo) GROUP BY conversation_id
  ), newest AS (
    SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at FROM messages
     WHERE conversation_id = ANY (todo) AND created_at IS NOT NULL
     ORDER BY conversation_id, created_at DESC, id DESC
  ), fresh_counters AS (
    SELECT b.id, b.base + coalesce(p.n, 0) AS last_sequence_number,
           coalesce(mb.n, 0) AS member_count, nw.id AS last_message_id,
           nw.created_at AS last_message_at
      FROM base b
      LEFT JOIN per p ON p.conversation_id = b.id
      LEFT JOIN members mb ON mb.conversation_id = b.id
      LEFT JOIN newest nw ON nw.conversation_id = b.id
  ), counters AS (
    UPDATE conversations c
       SET last_sequence_number = f.last_sequence_number, member_count = f.member_count,
           last_message_id = f.last_message_id, last_message_at = f.last_message_at
      FROM fresh_counters f
     WHERE c.id = f.id
       AND (c.last_sequence_number, c.member_count, c.last_message_id, c.last_message_at)
           IS DISTINCT FROM (f.last_sequence_number, f.member_count, f.last_message_id, f.last_message_at)
  )
  SELECT coalesce(sum(n), 0) INTO numbered FROM per;
END
`;

const BACKFILL_FUNCTION: PlpgsqlFunction = {
  name: 'sequence_backfill_batch',
  args: 'after uuid, max_messages integer, OUT next text, OUT keys bigint, OUT numbered bigint',
  argTypes: 'uuid, integer',
  returns: 'record',
  body: BACKFILL_BATCH_BODY,
};

/** The per-conversation function this migration used before; a run interrupted then left it. */
const LEGACY_FUNCTION = 'DROP FUNCTION IF EXISTS sequence_backfill_conversation(uuid)';

/** One batch as runBatches calls it ($1 = last conversation of the previous batch, $2 = size). */
const BACKFILL_BATCH = `
SELECT next, keys, numbered AS rows FROM sequence_backfill_batch($1::uuid, $2::integer)`;

/**
 * A batch holds the row locks of its conversations until it commits, so its size is how long a
 * writer of one of them may wait: 1000 messages keeps that in the tens of milliseconds (a batch
 * of 10,000 blocked writers for 0.5-2 s in bench/online-sequence.ts). A smaller batchSize in the
 * config still applies; one conversation is never split, so a conversation with more messages
 * than this is one batch of its own.
 */
const MAX_BATCH_MESSAGES = 1000;

/** How often one batch is tried again when a message it must renumber is locked (see above). */
const BATCH_LOCK_RETRIES = 20;

export const installs: SchemaManifest = {
  functions: [{ name: BACKFILL_FUNCTION.name, body: BACKFILL_FUNCTION.body }],
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  // CREATE OR REPLACE: a rerun after an interruption finds it already there. No table lock.
  await execOnline(pgm, ctx, createFunctionSql(BACKFILL_FUNCTION, { orReplace: true }));
  await execOnline(pgm, ctx, LEGACY_FUNCTION);
  const total = ctx.dryRun
    ? undefined
    : Number((await pgm.db.select('SELECT count(*) AS n FROM conversations'))[0]?.n ?? 0);
  await runBatches(
    pgm,
    { ...ctx, batchSize: Math.min(ctx.batchSize, MAX_BATCH_MESSAGES) },
    {
      label: 'sequence backfill (conversations)',
      sql: BACKFILL_BATCH,
      total,
      writesBaseTable: true,
      lockRetries: BATCH_LOCK_RETRIES,
    },
  );
  // Every conversation is counted now: the trigger numbers every insert, the default gives way.
  if (await isAdopted(pgm)) await execOnline(pgm, ctx, HAND_OVER_TO_TRIGGER_SQL);
}

/**
 * Drops the function only. The numbers and counters stay: they are correct, and the columns go
 * in 0001's and 0002's down. (Setting them back to NULL would be the only way to "restore", and
 * would only make the triggers skip those conversations until the next backfill.)
 */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(dropFunctionSql(BACKFILL_FUNCTION));
  pgm.sql(LEGACY_FUNCTION);
}

/**
 * sequence 0007: numbers the messages that existed before the triggers and computes every
 * counter of the conversations created before them (those whose last_sequence_number is NULL),
 * in committed batches of whole conversations, in id order.
 *
 * Nothing is missed: the triggers (0003-0005) committed first, so every message written since
 * carries a number or sits in a conversation still NULL, and every writer of a conversation holds
 * its row lock until commit. sequence_backfill_conversation() takes that lock first and reads in its next
 * statements, whose snapshot (READ COMMITTED) includes everything those writers committed; a
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
import { type MigrationContext, runBatches } from '../../src/migrate/context.js';
import { createFunctionSql, dropFunctionSql, type PlpgsqlFunction } from '../../src/migrate/ddl.js';
import { execOnline } from '../../src/migrate/online.js';

/**
 * Numbers one conversation's unnumbered messages after its current maximum and recomputes its
 * counters from scratch; returns how many messages it numbered. The rows it numbers also get
 * content_tsv when it is missing, so each old message is written once, not twice. Writes the
 * conversation only when a value differs. Needs READ COMMITTED (see the header).
 */
export const BACKFILL_CONVERSATION_BODY = `
DECLARE
  counter bigint;
  base bigint;
  numbered bigint;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'sequence_backfill_conversation needs READ COMMITTED, not %',
      current_setting('transaction_isolation')
      USING HINT = 'Unset default_transaction_isolation for the dbops session.';
  END IF;
  SELECT last_sequence_number INTO counter FROM conversations WHERE id = target FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  SELECT greatest(coalesce(counter, 0), coalesce(max(sequence_number), 0)) INTO base
    FROM messages WHERE conversation_id = target;
  WITH todo AS (
    SELECT id, row_number() OVER (ORDER BY created_at ASC NULLS FIRST, id ASC) AS n
      FROM messages WHERE conversation_id = target AND sequence_number IS NULL)
  UPDATE messages m
     SET sequence_number = base + todo.n,
         content_tsv = coalesce(m.content_tsv,
                                to_tsvector('english'::regconfig, coalesce(m.content, '')))
    FROM todo
   WHERE m.id = todo.id AND m.sequence_number IS NULL;
  GET DIAGNOSTICS numbered = ROW_COUNT;
  WITH fresh AS (
    SELECT base + numbered AS last_sequence_number,
           (SELECT count(*)::integer FROM conversation_members
             WHERE conversation_id = target) AS member_count,
           newest.id AS last_message_id, newest.created_at AS last_message_at
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT id, created_at FROM messages
                          WHERE conversation_id = target AND created_at IS NOT NULL
                          ORDER BY created_at DESC, id DESC LIMIT 1) newest ON true)
  UPDATE conversations c
     SET last_sequence_number = f.last_sequence_number, member_count = f.member_count,
         last_message_id = f.last_message_id, last_message_at = f.last_message_at
    FROM fresh f
   WHERE c.id = target
     AND (c.last_sequence_number, c.member_count, c.last_message_id, c.last_message_at)
         IS DISTINCT FROM (f.last_sequence_number, f.member_count, f.last_message_id, f.last_message_at);
  RETURN numbered;
END
`;

const BACKFILL_FUNCTION: PlpgsqlFunction = {
  name: 'sequence_backfill_conversation',
  args: 'target uuid',
  argTypes: 'uuid',
  returns: 'bigint',
  body: BACKFILL_CONVERSATION_BODY,
};

/**
 * One batch: the conversations after $1 (in id order) up to the one holding the $2-th message
 * after $1, at most $2 of them, so a batch writes about $2 messages whatever the sizes. The
 * bound is read from the (conversation_id, created_at) index. Conversations are visited in id
 * order (the subquery's ORDER BY is kept, so the function's locks are taken in that order).
 */
const BACKFILL_BATCH = `
WITH bound AS (
  SELECT conversation_id FROM messages
   WHERE $1::uuid IS NULL OR conversation_id > $1::uuid
   ORDER BY conversation_id OFFSET greatest($2::integer - 1, 0) LIMIT 1
), batch AS (
  SELECT id, last_sequence_number IS NULL AS pending FROM conversations
   WHERE ($1::uuid IS NULL OR id > $1::uuid)
     AND ((SELECT conversation_id FROM bound) IS NULL OR id <= (SELECT conversation_id FROM bound))
   ORDER BY id LIMIT $2::integer
), done AS (
  SELECT sequence_backfill_conversation(id) AS numbered
    FROM (SELECT id FROM batch WHERE pending ORDER BY id) todo
)
SELECT (SELECT id::text FROM batch ORDER BY id DESC LIMIT 1) AS next,
       (SELECT count(*) FROM batch) AS keys,
       (SELECT coalesce(sum(numbered), 0) FROM done) AS rows`;

/**
 * A batch holds the row locks of its conversations until it commits, so its size is how long a
 * writer of one of them may wait: 1000 messages keeps that in the tens of milliseconds (a batch
 * of 10,000 blocked writers for 0.5-2 s in bench/online-sequence.ts). A smaller batchSize in the
 * config still applies; one conversation is never split, so a conversation with more messages
 * than this is one batch of its own.
 */
const MAX_BATCH_MESSAGES = 1000;

export const installs: SchemaManifest = {
  functions: [{ name: BACKFILL_FUNCTION.name, body: BACKFILL_FUNCTION.body }],
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  // CREATE OR REPLACE: a rerun after an interruption finds it already there. No table lock.
  await execOnline(pgm, ctx, createFunctionSql(BACKFILL_FUNCTION, { orReplace: true }));
  const total = ctx.dryRun
    ? undefined
    : Number((await pgm.db.select('SELECT count(*) AS n FROM conversations'))[0]?.n ?? 0);
  await runBatches(
    pgm,
    { ...ctx, batchSize: Math.min(ctx.batchSize, MAX_BATCH_MESSAGES) },
    { label: 'sequence backfill (conversations)', sql: BACKFILL_BATCH, total },
  );
}

/**
 * Drops the function only. The numbers and counters stay: they are correct, and the columns go
 * in 0001's and 0002's down. (Setting them back to NULL would be the only way to "restore", and
 * would only make the triggers skip those conversations until the next backfill.)
 */
export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(dropFunctionSql(BACKFILL_FUNCTION));
}

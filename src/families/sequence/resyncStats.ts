import { conversationBatchTarget } from './conversationBatches.js';

/**
 * conversations.last_sequence_number, member_count, last_message_id / last_message_at from
 * messages and conversation_members (the sequence family's counters). Repairs a counter below
 * the conversation's highest number (raised to it; a counter above it is left alone: numbers
 * already handed out are never reused), a member_count that differs from the members, and a
 * last message that is not the newest by (created_at, id) or names a deleted message.
 *
 * Safe with live writers. Each batch of conversations (id order) is one transaction:
 * 1. LOCK_BATCH takes the conversations' row locks in id order: the lock every trigger of the
 *    family takes before it changes a counter, in the order the statement-level triggers use,
 *    so a batch and a writer that follows the documented order cannot deadlock (a deadlock with
 *    one that does not is retried by the runner); writers of these conversations now wait.
 * 2. REPAIR_BATCH runs with a fresh snapshot taken after the locks: every change a writer of
 *    these conversations committed is visible, so the values it writes are current, and writers
 *    that come after apply their deltas on top. It writes only rows that differ.
 */
const LOCK_BATCH = `
SELECT coalesce(array_agg(id::text ORDER BY id), '{}') AS ids FROM (
  SELECT id FROM conversations
   WHERE $1::uuid IS NULL OR id > $1::uuid
   ORDER BY id LIMIT $2
     FOR NO KEY UPDATE) batch`;

/** The true counters of the conversations `filter` selects (SQL over alias c). */
const truth = (filter: string) => `
  SELECT c.id,
         greatest(coalesce(c.last_sequence_number, 0), coalesce(s.highest, 0)) AS last_sequence_number,
         (SELECT count(*)::integer FROM conversation_members cm
           WHERE cm.conversation_id = c.id) AS member_count,
         n.id AS last_message_id, n.created_at AS last_message_at
    FROM conversations c
    LEFT JOIN LATERAL (SELECT max(sequence_number) AS highest FROM messages
                        WHERE conversation_id = c.id) s ON true
    LEFT JOIN LATERAL (SELECT id, created_at FROM messages
                        WHERE conversation_id = c.id AND created_at IS NOT NULL
                        ORDER BY created_at DESC, id DESC LIMIT 1) n ON true
   WHERE ${filter}`;

const DIFFERS = `(c.last_sequence_number, c.member_count, c.last_message_id, c.last_message_at)
    IS DISTINCT FROM (t.last_sequence_number, t.member_count, t.last_message_id, t.last_message_at)`;

const REPAIR_BATCH = `
WITH t AS MATERIALIZED (${truth('c.id = ANY ($1::uuid[])')}
), updated AS (
  UPDATE conversations c
     SET last_sequence_number = t.last_sequence_number, member_count = t.member_count,
         last_message_id = t.last_message_id, last_message_at = t.last_message_at
    FROM t
   WHERE c.id = t.id AND ${DIFFERS}
  RETURNING 1
)
SELECT count(*)::integer AS updated FROM updated`;

const COUNT_DRIFT = `
SELECT 0 AS inserted, count(*)::integer AS updated, 0 AS deleted
  FROM conversations c JOIN (${truth('true')}) t ON t.id = c.id
 WHERE ${DIFFERS}`;

export const conversationStatsTarget = conversationBatchTarget({
  name: 'conversation-stats',
  title: 'conversation counters from messages and conversation_members',
  lockBatch: LOCK_BATCH,
  repairBatch: REPAIR_BATCH,
  countDrift: COUNT_DRIFT,
});

import { conversationBatchTarget } from './conversationBatches.js';

/**
 * messages.sequence_number: gives every message without a number, and every extra copy of a
 * number shared within a conversation, a fresh number above the conversation's maximum (and its
 * counter), in (created_at, id) order with NULL created_at first, as the backfill numbers.
 * A valid number is never changed: clients have seen it. Of the messages sharing a number, the
 * one created first keeps it (one without created_at only if all lack it), then the lowest id.
 * Duplicates exist only while the unique index is missing (`check schema` reports that).
 *
 * Safe with live writers: per batch of conversations (id order), one transaction that first
 * locks the conversations' rows in id order (the counter lock the numbering trigger takes, so
 * no insert can take a number meanwhile and a deadlock with one is impossible for writers that
 * order their rows), then numbers with a snapshot taken after the locks and raises the counters.
 */
const LOCK_BATCH = `
SELECT coalesce(array_agg(id::text ORDER BY id), '{}') AS ids FROM (
  SELECT id FROM conversations
   WHERE $1::uuid IS NULL OR id > $1::uuid
   ORDER BY id LIMIT $2
     FOR NO KEY UPDATE) batch`;

/** Messages to renumber among those `filter` selects (SQL over alias m): NULLs and extra copies. */
const offending = (filter: string) => `
  SELECT m.id, m.conversation_id, m.created_at FROM messages m
   WHERE ${filter} AND m.sequence_number IS NULL
  UNION ALL
  SELECT r.id, r.conversation_id, r.created_at FROM (
    SELECT m.id, m.conversation_id, m.created_at,
           row_number() OVER (PARTITION BY m.conversation_id, m.sequence_number
                              ORDER BY m.created_at ASC NULLS LAST, m.id) AS copy
      FROM messages m
      JOIN (SELECT m.conversation_id, m.sequence_number FROM messages m
             WHERE ${filter} AND m.sequence_number IS NOT NULL
             GROUP BY m.conversation_id, m.sequence_number HAVING count(*) > 1) d
        ON d.conversation_id = m.conversation_id AND d.sequence_number = m.sequence_number) r
   WHERE r.copy > 1`;

const REPAIR_BATCH = `
WITH todo AS MATERIALIZED (
  SELECT o.id, o.conversation_id,
         row_number() OVER (PARTITION BY o.conversation_id
                            ORDER BY o.created_at ASC NULLS FIRST, o.id) AS n
    FROM (${offending('m.conversation_id = ANY ($1::uuid[])')}) o
), base AS (
  SELECT c.id,
         greatest(coalesce(c.last_sequence_number, 0),
                  coalesce((SELECT max(sequence_number) FROM messages
                             WHERE conversation_id = c.id), 0)) AS base
    FROM conversations c WHERE c.id IN (SELECT conversation_id FROM todo)
), renumbered AS (
  UPDATE messages m SET sequence_number = b.base + t.n
    FROM todo t JOIN base b ON b.id = t.conversation_id
   WHERE m.id = t.id
  RETURNING m.conversation_id, m.sequence_number
), counters AS (
  UPDATE conversations c SET last_sequence_number = r.top
    FROM (SELECT conversation_id, max(sequence_number) AS top FROM renumbered
           GROUP BY conversation_id) r
   WHERE c.id = r.conversation_id
  RETURNING 1
)
SELECT (SELECT count(*) FROM renumbered)::integer AS updated,
       (SELECT count(*) FROM counters)::integer AS counters`;

const COUNT_DRIFT = `
SELECT 0 AS inserted, count(*)::integer AS updated, 0 AS deleted FROM (${offending('true')}) o`;

export const sequenceNumbersTarget = conversationBatchTarget({
  name: 'sequence-numbers',
  title: 'messages.sequence_number: NULL and duplicate numbers',
  lockBatch: LOCK_BATCH,
  repairBatch: REPAIR_BATCH,
  countDrift: COUNT_DRIFT,
});

import { sharedFindings } from '../../checks/sharedPass.js';

/** The sequence family's consistency findings, computed together. */
export type SequenceFinding =
  | 'sequence.nulls'
  | 'sequence.duplicates'
  | 'sequence.counter'
  | 'sequence.gaps'
  | 'conversation.member-count'
  | 'conversation.last-message';

/**
 * Every sequence consistency finding in one pass: one aggregate over messages per conversation
 * (NULLs, lowest, highest, numbers and distinct numbers), one over the members, the newest
 * message per conversation, joined with conversations. As six separate queries the checks read
 * messages four times (NULLs, copies, gaps and the newest message each; 3.7x one counting query
 * at 200,000 messages, bench/ops/sequence.ts); the checks share this result instead. Messages
 * are read again, by index, only in conversations that have NULLs or copies, to key them.
 * Definitions (counts and samples as each check's own query would give them):
 * - nulls: messages without a number, keyed by message id;
 * - duplicates: messages sharing (conversation_id, sequence_number), every copy, by message id;
 * - counter: conversations whose counter is NULL or below their highest number;
 * - gaps: conversations whose numbers are not exactly 1..n, or whose counter is above the
 *   highest number (copies and NULLs aside);
 * - member-count: member_count differs from the count of members;
 * - last-message: last_message_id / last_message_at not the newest message by (created_at, id)
 *   (messages without created_at never count), or dangling.
 * Returns, per finding found, the count and the first `$1` keys in key order.
 */
const CLASSIFY_SQL = `
WITH per AS MATERIALIZED (
  SELECT conversation_id, count(*) - count(sequence_number) AS nulls,
         min(sequence_number) AS lowest, max(sequence_number) AS highest,
         count(sequence_number) AS numbered, count(DISTINCT sequence_number) AS n
    FROM messages GROUP BY conversation_id
), members AS (
  SELECT conversation_id, count(*)::integer AS n FROM conversation_members
   GROUP BY conversation_id
), newest AS (
  SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at FROM messages
   WHERE created_at IS NOT NULL
   ORDER BY conversation_id, created_at DESC, id DESC
), conv AS (
  SELECT c.id::text AS key,
         c.last_sequence_number IS NULL OR c.last_sequence_number < p.highest AS counter,
         (coalesce(p.n, 0) > 0 AND (p.lowest <> 1 OR p.highest <> p.n))
           OR coalesce(c.last_sequence_number, 0) > coalesce(p.highest, 0) AS gaps,
         c.member_count IS DISTINCT FROM coalesce(mb.n, 0) AS member_count,
         (c.last_message_id, c.last_message_at) IS DISTINCT FROM (nw.id, nw.created_at)
           AS last_message
    FROM conversations c
    LEFT JOIN per p ON p.conversation_id = c.id
    LEFT JOIN members mb ON mb.conversation_id = c.id
    LEFT JOIN newest nw ON nw.conversation_id = c.id
), offending AS (
  SELECT f.finding, conv.key
    FROM conv,
         unnest(ARRAY[CASE WHEN conv.counter THEN 'sequence.counter' END,
                      CASE WHEN conv.gaps THEN 'sequence.gaps' END,
                      CASE WHEN conv.member_count THEN 'conversation.member-count' END,
                      CASE WHEN conv.last_message THEN 'conversation.last-message' END]) AS f(finding)
   WHERE (conv.counter OR conv.gaps OR conv.member_count OR conv.last_message)
     AND f.finding IS NOT NULL
  UNION ALL
  SELECT 'sequence.nulls', m.id::text FROM messages m
   WHERE m.conversation_id IN (SELECT conversation_id FROM per WHERE nulls > 0)
     AND m.sequence_number IS NULL
  UNION ALL
  SELECT 'sequence.duplicates', m.id::text
    FROM (SELECT conversation_id, sequence_number FROM messages
           WHERE conversation_id IN (SELECT conversation_id FROM per WHERE numbered > n)
             AND sequence_number IS NOT NULL
           GROUP BY conversation_id, sequence_number HAVING count(*) > 1) d
    JOIN messages m ON m.conversation_id = d.conversation_id
                   AND m.sequence_number = d.sequence_number
)
SELECT finding, count(*)::int AS count, (array_agg(key ORDER BY key))[1:$1] AS sample
  FROM offending GROUP BY finding`;

/** The outcome of one sequence finding; the first check of a run computes them all. */
export const sequenceFinding = sharedFindings<SequenceFinding>(CLASSIFY_SQL);

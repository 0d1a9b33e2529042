import { sqlCheck } from '../../src/checks/types.js';

/**
 * Conversations whose numbers are not exactly 1..last_sequence_number: a number missing in the
 * middle or at the end (the counter above the highest number). Deleting a message does this
 * legitimately, as does an INSERT ... ON CONFLICT on another unique index; numbers clients have
 * seen are never reused, so this is a warning and nothing renumbers. Messages without a number
 * and extra copies of a number are not counted here (sequence.nulls, sequence.duplicates).
 */
export default sqlCheck({
  id: 'sequence.gaps',
  title: 'conversations whose numbers are not 1..n (deletes make gaps legitimately)',
  severity: 'warn',
  hint: 'nothing to repair: numbers clients have seen are never reused (gaps come from deleted messages)',
  sql: `
    SELECT c.id::text AS key
      FROM conversations c
     CROSS JOIN LATERAL (SELECT min(sequence_number) AS lowest, max(sequence_number) AS highest,
                                count(DISTINCT sequence_number) AS n
                           FROM messages WHERE conversation_id = c.id) s
     WHERE (s.n > 0 AND (s.lowest <> 1 OR s.highest <> s.n))
        OR coalesce(c.last_sequence_number, 0) > coalesce(s.highest, 0)`,
});

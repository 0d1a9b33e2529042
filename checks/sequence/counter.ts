import { sqlCheck } from '../../src/checks/types.js';

/**
 * Conversations whose last_sequence_number is NULL or below their highest message number: the
 * next message would get a number that is taken. (A counter above the highest number is a gap,
 * see sequence.gaps.) The highest number is one backward probe of the unique index.
 */
export default sqlCheck({
  id: 'sequence.counter',
  title: 'conversations whose last_sequence_number is below their max sequence_number',
  severity: 'fail',
  hint: 'dbops resync conversation-stats',
  sql: `
    SELECT c.id::text AS key
      FROM conversations c
     CROSS JOIN LATERAL (SELECT max(sequence_number) AS highest FROM messages
                          WHERE conversation_id = c.id) s
     WHERE c.last_sequence_number IS NULL OR c.last_sequence_number < s.highest`,
});

import { sqlCheck } from '../../src/checks/types.js';

/**
 * Messages that share (conversation_id, sequence_number) with another message: every copy is
 * counted, keyed by message id. Impossible while the unique index is valid; a duplicate means it
 * was missing (sequence.schema) when the rows were written.
 */
export default sqlCheck({
  id: 'sequence.duplicates',
  title: 'messages sharing (conversation_id, sequence_number)',
  severity: 'fail',
  hint: 'dbops resync sequence-numbers',
  sql: `
    SELECT m.id::text AS key
      FROM (SELECT conversation_id, sequence_number FROM messages
             WHERE sequence_number IS NOT NULL
             GROUP BY conversation_id, sequence_number HAVING count(*) > 1) d
      JOIN messages m ON m.conversation_id = d.conversation_id
                     AND m.sequence_number = d.sequence_number`,
});

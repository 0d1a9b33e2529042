import { sqlCheck } from '../../src/checks/types.js';

/** Messages without a number (written with the family's triggers disabled), keyed by message id. */
export default sqlCheck({
  id: 'sequence.nulls',
  title: 'messages without a sequence_number',
  severity: 'fail',
  hint: 'dbops resync sequence-numbers',
  sql: `SELECT id::text AS key FROM messages WHERE sequence_number IS NULL`,
});

import { customCheck } from '../../src/checks/types.js';
import { sequenceFinding } from '../../src/families/sequence/findings.js';

/**
 * Messages that share (conversation_id, sequence_number) with another message: every copy is
 * counted, keyed by message id. Impossible while the unique index is valid; a duplicate means it
 * was missing (sequence.schema) when the rows were written.
 * Computed with the other sequence findings in one pass (src/families/sequence/findings.ts).
 */
export default customCheck({
  id: 'sequence.duplicates',
  title: 'messages sharing (conversation_id, sequence_number)',
  severity: 'fail',
  hint: 'dbops resync sequence-numbers',
  kind: 'consistency',
  run: (ctx) => sequenceFinding(ctx, 'sequence.duplicates'),
});

import { customCheck } from '../../src/checks/types.js';
import { sequenceFinding } from '../../src/families/sequence/findings.js';

/**
 * Messages without a number (written with the family's triggers disabled), keyed by message id.
 * Computed with the other sequence findings in one pass (src/families/sequence/findings.ts).
 */
export default customCheck({
  id: 'sequence.nulls',
  title: 'messages without a sequence_number',
  severity: 'fail',
  hint: 'dbops resync sequence-numbers',
  kind: 'consistency',
  run: (ctx) => sequenceFinding(ctx, 'sequence.nulls'),
});

import { customCheck } from '../../src/checks/types.js';
import { sequenceFinding } from '../../src/families/sequence/findings.js';

/**
 * Conversations whose last_sequence_number is NULL or below their highest message number: the
 * next message would get a number that is taken. (A counter above the highest number is a gap,
 * see sequence.gaps.)
 * Computed with the other sequence findings in one pass (src/families/sequence/findings.ts).
 */
export default customCheck({
  id: 'sequence.counter',
  title: 'conversations whose last_sequence_number is below their max sequence_number',
  severity: 'fail',
  hint: 'dbops resync conversation-stats',
  kind: 'consistency',
  run: (ctx) => sequenceFinding(ctx, 'sequence.counter'),
});

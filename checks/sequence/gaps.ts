import { customCheck } from '../../src/checks/types.js';
import { sequenceFinding } from '../../src/families/sequence/findings.js';

/**
 * Conversations whose numbers are not exactly 1..last_sequence_number: a number missing in the
 * middle or at the end (the counter above the highest number). Deleting a message does this
 * legitimately, as does an INSERT ... ON CONFLICT on another unique index; numbers clients have
 * seen are never reused, so this is a warning and nothing renumbers. Messages without a number
 * and extra copies of a number are not counted here (sequence.nulls, sequence.duplicates).
 * Computed with the other sequence findings in one pass (src/families/sequence/findings.ts).
 */
export default customCheck({
  id: 'sequence.gaps',
  title: 'conversations whose numbers are not 1..n (deletes make gaps legitimately)',
  severity: 'warn',
  hint: 'nothing to repair: numbers clients have seen are never reused (gaps come from deleted messages)',
  kind: 'consistency',
  run: (ctx) => sequenceFinding(ctx, 'sequence.gaps'),
});

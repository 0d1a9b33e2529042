import { customCheck } from '../../src/checks/types.js';
import { sequenceFinding } from '../../src/families/sequence/findings.js';

/**
 * Conversations whose member_count is not the number of their conversation_members rows.
 * Computed with the other sequence findings in one pass (src/families/sequence/findings.ts).
 */
export default customCheck({
  id: 'conversation.member-count',
  title: 'member_count differs from the count of conversation_members',
  severity: 'fail',
  hint: 'dbops resync conversation-stats',
  kind: 'consistency',
  run: (ctx) => sequenceFinding(ctx, 'conversation.member-count'),
});

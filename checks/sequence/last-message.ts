import { customCheck } from '../../src/checks/types.js';
import { sequenceFinding } from '../../src/families/sequence/findings.js';

/**
 * Conversations whose last_message_id / last_message_at are not their newest message by
 * (created_at, id) (messages without created_at never count), or name a message that does not
 * exist; a conversation without dated messages must have both NULL.
 * Computed with the other sequence findings in one pass (src/families/sequence/findings.ts).
 */
export default customCheck({
  id: 'conversation.last-message',
  title: 'last_message_id / last_message_at not the newest message, or dangling',
  severity: 'fail',
  hint: 'dbops resync conversation-stats',
  kind: 'consistency',
  run: (ctx) => sequenceFinding(ctx, 'conversation.last-message'),
});

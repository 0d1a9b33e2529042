import { sqlCheck } from '../../src/checks/types.js';

/**
 * Conversations whose last_message_id / last_message_at are not their newest message by
 * (created_at, id) (messages without created_at never count), or name a message that does not
 * exist; a conversation without dated messages must have both NULL. The newest message is one
 * probe of the (conversation_id, created_at DESC) index.
 */
export default sqlCheck({
  id: 'conversation.last-message',
  title: 'last_message_id / last_message_at not the newest message, or dangling',
  severity: 'fail',
  hint: 'dbops resync conversation-stats',
  sql: `
    SELECT c.id::text AS key
      FROM conversations c
      LEFT JOIN LATERAL (SELECT id, created_at FROM messages
                          WHERE conversation_id = c.id AND created_at IS NOT NULL
                          ORDER BY created_at DESC, id DESC LIMIT 1) newest ON true
     WHERE (c.last_message_id, c.last_message_at)
           IS DISTINCT FROM (newest.id, newest.created_at)`,
});

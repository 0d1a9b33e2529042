import { sqlCheck } from '../../src/checks/types.js';

/** Conversations whose member_count is not the number of their conversation_members rows. */
export default sqlCheck({
  id: 'conversation.member-count',
  title: 'member_count differs from the count of conversation_members',
  severity: 'fail',
  hint: 'dbops resync conversation-stats',
  sql: `
    SELECT c.id::text AS key
      FROM conversations c
     CROSS JOIN LATERAL (SELECT count(*)::integer AS n FROM conversation_members
                          WHERE conversation_id = c.id) m
     WHERE c.member_count IS DISTINCT FROM m.n`,
});

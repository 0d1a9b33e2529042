import { sqlCheck } from '../../src/checks/types.js';

/**
 * Lookup rows newer than their partition's newest message: they name a message that was
 * deleted, or a (created_at, id) that no message has. (Rows older than the newest are "behind";
 * rows of partitions without messages are "orphaned".)
 */
export default sqlCheck({
  id: 'lookup.ahead',
  title: 'lookup rows naming a message that does not exist or is not the newest',
  severity: 'fail',
  hint: 'dbops resync partition-lookup',
  sql: `
    SELECT pl.partition_id::text AS key
      FROM partition_lookup pl
     CROSS JOIN LATERAL (SELECT id, created_at FROM messages m
                          WHERE m.partition_id = pl.partition_id AND m.created_at IS NOT NULL
                          ORDER BY created_at DESC, id DESC LIMIT 1) newest
     WHERE (pl.last_message_created_at, pl.last_message_id) > (newest.created_at, newest.id)`,
});

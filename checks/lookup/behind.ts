import { sqlCheck } from '../../src/checks/types.js';

/**
 * Lookup rows older than their partition's newest message by (created_at, id). The newest
 * message comes from one backward probe of the (partition_id, created_at, id) index per row.
 */
export default sqlCheck({
  id: 'lookup.behind',
  title: "lookup rows older than the partition's newest message",
  severity: 'fail',
  hint: 'dbops resync partition-lookup',
  sql: `
    SELECT pl.partition_id::text AS key
      FROM partition_lookup pl
     CROSS JOIN LATERAL (SELECT id, created_at FROM messages m
                          WHERE m.partition_id = pl.partition_id AND m.created_at IS NOT NULL
                          ORDER BY created_at DESC, id DESC LIMIT 1) newest
     WHERE (pl.last_message_created_at, pl.last_message_id) < (newest.created_at, newest.id)`,
});

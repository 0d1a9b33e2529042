import { sqlCheck } from '../../src/checks/types.js';

/** Lookup rows for partitions without messages (or gone), or whose queue_name is not the partition's queue. */
export default sqlCheck({
  id: 'lookup.orphaned',
  title:
    "lookup rows for partitions with no messages, or with a queue_name that is not the partition's queue",
  severity: 'warn',
  hint: 'dbops resync partition-lookup',
  sql: `
    SELECT pl.partition_id::text AS key
      FROM partition_lookup pl
      LEFT JOIN partitions p ON p.id = pl.partition_id
      LEFT JOIN queues q ON q.id = p.queue_id
     WHERE q.name IS DISTINCT FROM pl.queue_name
        OR NOT EXISTS (SELECT 1 FROM messages m
                        WHERE m.partition_id = pl.partition_id AND m.created_at IS NOT NULL)`,
});

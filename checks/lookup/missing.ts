import { sqlCheck } from '../../src/checks/types.js';

/** Partitions that have messages (with created_at) but no lookup row for their queue. */
export default sqlCheck({
  id: 'lookup.missing',
  title: 'partitions with messages but no lookup row',
  severity: 'fail',
  hint: 'dbops resync partition-lookup',
  sql: `
    SELECT p.id::text AS key
      FROM partitions p JOIN queues q ON q.id = p.queue_id
     WHERE EXISTS (SELECT 1 FROM messages m WHERE m.partition_id = p.id AND m.created_at IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM partition_lookup pl WHERE pl.partition_id = p.id AND pl.queue_name = q.name)`,
});

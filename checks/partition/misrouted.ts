import { sqlCheck } from '../../src/checks/types.js';

/**
 * Chunks whose partition_key is not chunk_partition_key(collection_id), or that are stored in a
 * partition other than chunks_part_<key> (possible only with chunks_partition_key_check dropped,
 * or after a restore onto a server whose hashtext differs, e.g. another byte order). Keyed
 * collection_id/id.
 */
export default sqlCheck({
  id: 'partition.misrouted',
  title: 'chunks whose partition key or partition differs from chunk_partition_key(collection_id)',
  severity: 'fail',
  hint: 'UPDATE chunks SET partition_key = chunk_partition_key(collection_id) WHERE partition_key <> chunk_partition_key(collection_id) (moves them), then restore the check (dbops check schema partition)',
  sql: `
    SELECT c.collection_id || '/' || c.id AS key
      FROM chunks c
      JOIN pg_class p ON p.oid = c.tableoid
     WHERE c.partition_key IS DISTINCT FROM chunk_partition_key(c.collection_id)
        OR p.relname <> 'chunks_part_' || lpad(chunk_partition_key(c.collection_id)::text, 2, '0')`,
});

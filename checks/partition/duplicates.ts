import { sqlCheck } from '../../src/checks/types.js';

/**
 * (collection_id, document_id, chunk_index) held by more than one chunk, in any partitions: the
 * unique key includes partition_key (PostgreSQL requires it), so this is what it no longer
 * guarantees once chunks_partition_key_check or the unique index is gone. One row per duplicated
 * key, keyed collection_id/document_id/chunk_index.
 */
export default sqlCheck({
  id: 'partition.duplicates',
  title: 'chunks sharing (collection_id, document_id, chunk_index), across partitions',
  severity: 'fail',
  hint: 'delete the extra copies (the rows are listed by: SELECT * FROM chunks WHERE (collection_id, document_id, chunk_index) IN (...)), then dbops check schema partition',
  sql: `
    SELECT collection_id || '/' || document_id || '/' || chunk_index AS key
      FROM chunks
     GROUP BY collection_id, document_id, chunk_index
    HAVING count(*) > 1`,
});

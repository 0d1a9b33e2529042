import { sqlCheck } from '../../src/checks/types.js';
import { COLLECTION_STATS_DRIFT } from '../../src/families/partition/online/monitoring.js';

/**
 * Collections whose row in the materialized view collection_chunking_stats is missing, extra or
 * different from the same aggregate computed now (it is only as fresh as its last refresh, so a
 * warning), keyed by collection id.
 */
export default sqlCheck({
  id: 'partition.chunking-stats',
  title: 'collection_chunking_stats differs from a fresh aggregate of chunks',
  severity: 'warn',
  hint: 'dbops resync chunking-stats',
  sql: `SELECT key FROM (${COLLECTION_STATS_DRIFT}) drift`,
});

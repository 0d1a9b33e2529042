import { customCheck } from '../../src/checks/types.js';
import { lookupFinding } from '../../src/families/lookup/findings.js';

/**
 * Lookup rows for partitions without messages (or gone), or whose queue_name is not the partition's queue.
 * Computed with the other lookup findings in one pass (src/families/lookup/findings.ts).
 */
export default customCheck({
  id: 'lookup.orphaned',
  title:
    "lookup rows for partitions with no messages, or with a queue_name that is not the partition's queue",
  severity: 'warn',
  kind: 'consistency',
  hint: 'dbops resync partition-lookup',
  run: (ctx) => lookupFinding(ctx, 'orphaned'),
});

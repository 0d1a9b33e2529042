import { customCheck } from '../../src/checks/types.js';
import { lookupFinding } from '../../src/families/lookup/findings.js';

/**
 * Partitions that have messages (with created_at) but no lookup row for their queue.
 * Computed with the other lookup findings in one pass (src/families/lookup/findings.ts).
 */
export default customCheck({
  id: 'lookup.missing',
  title: 'partitions with messages but no lookup row',
  severity: 'fail',
  kind: 'consistency',
  hint: 'dbops resync partition-lookup',
  run: (ctx) => lookupFinding(ctx, 'missing'),
});

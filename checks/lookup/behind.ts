import { lookupFinding } from '../../src/checks/lookupDrift.js';
import { customCheck } from '../../src/checks/types.js';

/**
 * Lookup rows older than their partition's newest message by (created_at, id).
 * Computed with the other lookup findings in one pass (src/checks/lookupDrift.ts).
 */
export default customCheck({
  id: 'lookup.behind',
  title: "lookup rows older than the partition's newest message",
  severity: 'fail',
  kind: 'consistency',
  hint: 'dbops resync partition-lookup',
  run: (ctx) => lookupFinding(ctx, 'behind'),
});

import { customCheck } from '../../src/checks/types.js';
import { lookupFinding } from '../../src/families/lookup/findings.js';

/**
 * Lookup rows older than their partition's newest message by (created_at, id).
 * Computed with the other lookup findings in one pass (src/families/lookup/findings.ts).
 */
export default customCheck({
  id: 'lookup.behind',
  title: "lookup rows older than the partition's newest message",
  severity: 'fail',
  kind: 'consistency',
  hint: 'dbops resync partition-lookup',
  run: (ctx) => lookupFinding(ctx, 'behind'),
});

import { customCheck } from '../../src/checks/types.js';
import { lookupFinding } from '../../src/families/lookup/findings.js';

/**
 * Lookup rows newer than their partition's newest message: they name a message that was
 * deleted, or a (created_at, id) that no message has. (Rows older than the newest are "behind";
 * rows of partitions without messages are "orphaned".)
 * Computed with the other lookup findings in one pass (src/families/lookup/findings.ts).
 */
export default customCheck({
  id: 'lookup.ahead',
  title: 'lookup rows naming a message that does not exist or is not the newest',
  severity: 'fail',
  kind: 'consistency',
  hint: 'dbops resync partition-lookup',
  run: (ctx) => lookupFinding(ctx, 'ahead'),
});

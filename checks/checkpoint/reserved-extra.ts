import { customCheck } from '../../src/checks/types.js';
import { checkpointFinding } from '../../src/families/checkpoint/findings.js';

/**
 * checkpoints_reserved rows whose checkpoint is not reserved (or is gone), or whose reserved_until differs.
 * Computed with the other checkpoint findings in one pass (src/families/checkpoint/findings.ts).
 */
export default customCheck({
  id: 'checkpoint.reserved-extra',
  title: 'reserved rows whose checkpoint is not reserved, or with a different reserved_until',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  kind: 'consistency',
  run: (ctx) => checkpointFinding(ctx, 'reserved-extra'),
});

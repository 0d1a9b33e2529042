import { customCheck } from '../../src/checks/types.js';
import { checkpointFinding } from '../../src/families/checkpoint/findings.js';

/**
 * Checkpoints with reserved_until set and no checkpoints_reserved row.
 * Computed with the other checkpoint findings in one pass (src/families/checkpoint/findings.ts).
 */
export default customCheck({
  id: 'checkpoint.reserved-missing',
  title: 'checkpoints with reserved_until set and no reserved row',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  kind: 'consistency',
  run: (ctx) => checkpointFinding(ctx, 'reserved-missing'),
});

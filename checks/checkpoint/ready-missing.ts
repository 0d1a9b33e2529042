import { customCheck } from '../../src/checks/types.js';
import { checkpointFinding } from '../../src/families/checkpoint/findings.js';

/**
 * Checkpoints the rule says are ready (checkpoint_is_ready) that have no checkpoints_ready row.
 * Computed with the other checkpoint findings in one pass (src/families/checkpoint/findings.ts).
 */
export default customCheck({
  id: 'checkpoint.ready-missing',
  title: 'checkpoints eligible to run with no ready row',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  kind: 'consistency',
  run: (ctx) => checkpointFinding(ctx, 'ready-missing'),
});

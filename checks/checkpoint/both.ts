import { customCheck } from '../../src/checks/types.js';
import { checkpointFinding } from '../../src/families/checkpoint/findings.js';

/**
 * Checkpoints with a row in both hot tables: ready to hand out while reserved.
 * Computed with the other checkpoint findings in one pass (src/families/checkpoint/findings.ts).
 */
export default customCheck({
  id: 'checkpoint.both',
  title: 'checkpoints in both ready and reserved',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  kind: 'consistency',
  run: (ctx) => checkpointFinding(ctx, 'both'),
});

import { customCheck } from '../../src/checks/types.js';
import { checkpointFinding } from './_findings.js';

/**
 * Checkpoints with a row in both hot tables: ready to hand out while reserved.
 * Computed with the other checkpoint findings in one pass (checks/checkpoint/_findings.ts).
 */
export default customCheck({
  id: 'checkpoint.both',
  title: 'checkpoints in both ready and reserved',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  kind: 'consistency',
  run: (ctx) => checkpointFinding(ctx, 'both'),
});

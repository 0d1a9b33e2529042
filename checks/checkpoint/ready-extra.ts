import { customCheck } from '../../src/checks/types.js';
import { checkpointFinding } from '../../src/families/checkpoint/findings.js';

/**
 * checkpoints_ready rows whose checkpoint is not eligible (or is gone), or whose process_at is
 * not the checkpoint's. A ready row of a reserved checkpoint is counted here and in
 * checkpoint.both.
 * Computed with the other checkpoint findings in one pass (src/families/checkpoint/findings.ts).
 */
export default customCheck({
  id: 'checkpoint.ready-extra',
  title: 'ready rows for checkpoints that are not eligible, or with a different process_at',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  kind: 'consistency',
  run: (ctx) => checkpointFinding(ctx, 'ready-extra'),
});

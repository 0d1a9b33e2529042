import { sqlCheck } from '../../src/checks/types.js';

/** Checkpoints the rule says are ready (checkpoint_is_ready) that have no checkpoints_ready row. */
export default sqlCheck({
  id: 'checkpoint.ready-missing',
  title: 'checkpoints eligible to run with no ready row',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  sql: `
    SELECT c.id::text AS key
      FROM checkpoints c
     WHERE checkpoint_is_ready(c)
       AND NOT EXISTS (SELECT 1 FROM checkpoints_ready r WHERE r.id = c.id)`,
});

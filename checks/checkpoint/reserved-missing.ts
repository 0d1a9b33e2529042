import { sqlCheck } from '../../src/checks/types.js';

/** Checkpoints with reserved_until set and no checkpoints_reserved row. */
export default sqlCheck({
  id: 'checkpoint.reserved-missing',
  title: 'checkpoints with reserved_until set and no reserved row',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  sql: `
    SELECT c.id::text AS key
      FROM checkpoints c
     WHERE c.reserved_until IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM checkpoints_reserved v WHERE v.id = c.id)`,
});

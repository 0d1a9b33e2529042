import { sqlCheck } from '../../src/checks/types.js';

/** Checkpoints with a row in both hot tables: ready to hand out while reserved. */
export default sqlCheck({
  id: 'checkpoint.both',
  title: 'checkpoints in both ready and reserved',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  sql: `
    SELECT r.id::text AS key
      FROM checkpoints_ready r
      JOIN checkpoints_reserved v ON v.id = r.id`,
});

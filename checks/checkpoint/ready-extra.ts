import { sqlCheck } from '../../src/checks/types.js';

/**
 * checkpoints_ready rows whose checkpoint is not eligible (or is gone), or whose process_at is
 * not the checkpoint's. A ready row of a reserved checkpoint is counted here and in
 * checkpoint.both.
 */
export default sqlCheck({
  id: 'checkpoint.ready-extra',
  title: 'ready rows for checkpoints that are not eligible, or with a different process_at',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  sql: `
    SELECT r.id::text AS key
      FROM checkpoints_ready r
      LEFT JOIN checkpoints c ON c.id = r.id
     WHERE c.id IS NULL
        OR NOT checkpoint_is_ready(c)
        OR r.process_at IS DISTINCT FROM c.process_at`,
});

import { sqlCheck } from '../../src/checks/types.js';

/** checkpoints_reserved rows whose checkpoint is not reserved (or is gone), or whose reserved_until differs. */
export default sqlCheck({
  id: 'checkpoint.reserved-extra',
  title: 'reserved rows whose checkpoint is not reserved, or with a different reserved_until',
  severity: 'fail',
  hint: 'dbops resync checkpoints',
  sql: `
    SELECT v.id::text AS key
      FROM checkpoints_reserved v
      LEFT JOIN checkpoints c ON c.id = v.id
     WHERE c.reserved_until IS NULL
        OR v.reserved_until <> c.reserved_until`,
});

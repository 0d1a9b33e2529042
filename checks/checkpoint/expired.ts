import { sqlCheck } from '../../src/checks/types.js';

/**
 * Reservations past their reserved_until (as of the check's snapshot): a worker died or stalled.
 * Not corruption: checkpoint_recover_expired() returns them to ready, and Beckett runs it
 * periodically; many of them mean recovery is not running.
 */
export default sqlCheck({
  id: 'checkpoint.expired',
  title: 'reservations past reserved_until (recoverable)',
  severity: 'warn',
  hint: 'SELECT checkpoint_recover_expired() (the application runs it periodically)',
  sql: `
    SELECT c.id::text AS key
      FROM checkpoints c
     WHERE c.reserved_until <= now()`,
});

import { customCheck } from '../../src/checks/types.js';
import { checkpointFinding } from '../../src/families/checkpoint/findings.js';

/**
 * Reservations past their reserved_until (as of the check's snapshot): a worker died or stalled.
 * Not corruption: checkpoint_recover_expired() returns them to ready, and Beckett runs it
 * periodically; many of them mean recovery is not running.
 * Computed with the other checkpoint findings in one pass (src/families/checkpoint/findings.ts).
 */
export default customCheck({
  id: 'checkpoint.expired',
  title: 'reservations past reserved_until (recoverable)',
  severity: 'warn',
  hint: 'SELECT checkpoint_recover_expired() (the application runs it periodically)',
  kind: 'consistency',
  run: (ctx) => checkpointFinding(ctx, 'expired'),
});

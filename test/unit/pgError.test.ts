import { describe, expect, it } from 'vitest';
import { connectionLostError, isConnectionLost } from '../../src/db/pgError.js';

describe('isConnectionLost', () => {
  it("sees a lost session inside node-pg-migrate's wrapped error, and shows no stack", () => {
    // What node-pg-migrate 9 throws when the server restarts while it reads its history table.
    const wrapped = new Error(
      'Unable to ensure migrations table: error: terminating connection due to administrator command\n    at /x/node_modules/pg/lib/client.js:694:17',
    );
    expect(isConnectionLost(wrapped)).toBe(true);
    const err = connectionLostError(wrapped, 'lookup 0002');
    expect(err.message).toBe(
      'lookup 0002: lost the connection to the server (Unable to ensure migrations table: error: terminating connection due to administrator command)',
    );
    expect(err.message).not.toContain('    at ');
  });

  it('does not take an ordinary error for a lost connection', () => {
    expect(
      isConnectionLost(new Error('Unable to ensure migrations table: permission denied')),
    ).toBe(false);
    expect(isConnectionLost(new Error('duplicate key value violates unique constraint'))).toBe(
      false,
    );
  });
});

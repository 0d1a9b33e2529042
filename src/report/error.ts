import { renderDatabaseError } from '../db/pgError.js';
import { DatabaseError, type DbopsError } from '../errors.js';
import type { Report } from './types.js';

/** The error part of a report, from a DbopsError (PostgreSQL details included). */
export function reportError(err: DbopsError): NonNullable<Report['error']> {
  const message = err instanceof DatabaseError ? renderDatabaseError(err).join('\n') : err.message;
  return { kind: err.kind, message, ...(err.hint ? { hint: err.hint } : {}) };
}

/**
 * The one error hierarchy of dbops. Every expected failure is a DbopsError; the top-level
 * handler in src/cli/main.ts maps it to a message on stderr and exit code 2. Anything else is
 * an internal error (a bug) and is shown with its stack.
 */
export type ErrorKind =
  | 'usage'
  | 'config'
  | 'connection'
  | 'database'
  | 'lock'
  | 'precondition'
  | 'interrupted'
  | 'internal';

export class DbopsError extends Error {
  readonly kind: ErrorKind;
  /** What the user should do next; printed under the message. */
  readonly hint: string | undefined;

  constructor(kind: ErrorKind, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbopsError';
    this.kind = kind;
    this.hint = hint;
  }
}

/** Bad flags, unknown family or target, malformed argument. */
export class UsageError extends DbopsError {
  constructor(message: string, hint?: string) {
    super('usage', message, hint);
  }
}

/** A config file with one or more problems; `problems` lists every one of them. */
export class ConfigError extends DbopsError {
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(
      'config',
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  - ${problems.join('\n  - ')}`,
      'Fix the listed keys; see docs/config.md.',
    );
    this.problems = problems;
  }
}

/** The server could not be reached or refused us. */
export class ConnectionError extends DbopsError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('connection', message, hint, { cause });
  }
}

/** A lock (advisory or table lock) could not be obtained within its bound. */
export class LockError extends DbopsError {
  constructor(message: string, hint?: string) {
    super('lock', message, hint);
  }
}

/** The database is not in a state the operation can start from (e.g. base tables missing). */
export class PreconditionError extends DbopsError {
  constructor(message: string, hint?: string) {
    super('precondition', message, hint);
  }
}

/** The user pressed Ctrl-C (or the process got SIGTERM) while work was running. */
export class InterruptedError extends DbopsError {
  constructor(message = 'interrupted', hint?: string) {
    super('interrupted', message, hint);
  }
}

/** Details PostgreSQL sends with an error (see the ErrorResponse fields of the protocol). */
export interface PgErrorFields {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  schema?: string;
  table?: string;
  constraint?: string;
}

/** A PostgreSQL error, with the SQL that caused it when we know it. */
export class DatabaseError extends DbopsError {
  readonly pg: PgErrorFields;
  readonly sql: string | undefined;
  constructor(pg: PgErrorFields, sql?: string, context?: string) {
    super('database', context ? `${context}: ${pg.message}` : pg.message, pg.hint, { cause: pg });
    this.pg = pg;
    this.sql = sql;
  }
}

/** True for errors that pg raised with a SQLSTATE code. */
export function isPgError(err: unknown): err is Error & PgErrorFields {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'string' &&
    'severity' in err
  );
}

/** SQLSTATE codes dbops reacts to. */
export const SqlState = {
  lockNotAvailable: '55P03',
  queryCanceled: '57014',
  deadlockDetected: '40P01',
  serializationFailure: '40001',
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  undefinedTable: '42P01',
  invalidCatalogName: '3D000',
  invalidPassword: '28P01',
  invalidAuthorization: '28000',
  readOnlyTransaction: '25006',
  dependentObjectsStillExist: '2BP01',
} as const;

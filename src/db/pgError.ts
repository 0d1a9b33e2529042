import { ConnectionError, DatabaseError, isPgError, SqlState } from '../errors.js';

/**
 * The session is gone. Either the server said so (57P01 admin shutdown: a fast shutdown or
 * restart, pg_terminate_backend; 57P02 crash shutdown; 57P03 cannot connect now; class 08), or
 * the socket closed without a word: a server crash or `pg_ctl stop/restart -m immediate`, a
 * network cut, a proxy that dropped the connection; pg raises those as plain Errors.
 */
export function isConnectionLost(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  if (isPgError(err)) return /^(57P0[123]|08...)$/.test(String(err.code));
  const code = (err as { code?: unknown }).code;
  return (
    /^Connection terminated|not queryable/i.test(err.message) ||
    // node-pg-migrate rethrows a lost session as a plain Error with pg's message (and stack)
    // inside its own ("Unable to ensure migrations table: error: terminating connection ...").
    LOST_IN_WRAPPED.test(err.message) ||
    code === 'ECONNRESET' ||
    code === 'EPIPE'
  );
}

/** The server's words for a session it ended, or the socket's, inside another error's message. */
const LOST_IN_WRAPPED =
  /\b(?:terminating connection due to|Connection terminated|server closed the connection unexpectedly|the database system is (?:shutting down|starting up|in recovery mode))/;

/** A wrapped error's message may carry the inner error's stack: only its first line is shown. */
function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/** A lost connection as the ConnectionError the top-level handler prints (exit 2, no stack). */
export function connectionLostError(err: Error, context?: string): ConnectionError {
  return new ConnectionError(
    `${context ? `${context}: ` : ''}lost the connection to the server (${firstLine(err.message)})`,
    'The server restarted, crashed or the connection was cut. The statement in flight was rolled ' +
      'back; committed steps and batches are kept. Rerun the same command once the server accepts ' +
      'connections again.',
    err,
  );
}

/**
 * dbops' own advice where the server's would mislead: PostgreSQL answers a DROP that other objects
 * depend on with "Use DROP ... CASCADE", which would drop an operator's view or function with
 * whatever it holds. dbops never drops with CASCADE, and neither should its user.
 */
const HINTS: Partial<Record<string, string>> = {
  [SqlState.dependentObjectsStillExist]:
    'The objects named in "detail" are not dbops\': they depend on what this step drops, and dbops ' +
    'never drops with CASCADE. Save their definitions (pg_dump --schema-only -t <name>, or \\d+ in ' +
    'psql), drop them, rerun the command, and recreate them afterwards if they still apply. The ' +
    'failed step was rolled back; the steps before it are kept.',
};

/**
 * Wraps an error thrown by pg into a DatabaseError carrying the SQL, so the top-level handler can
 * show code, message, detail, hint and the position in the SQL; a lost connection into a
 * ConnectionError. Other errors pass through.
 */
export function wrapPgError(err: unknown, sql?: string, context?: string): unknown {
  if (isConnectionLost(err)) return connectionLostError(err, context);
  if (err instanceof DatabaseError || !isPgError(err)) return err;
  return new DatabaseError(
    {
      code: err.code,
      message: err.message,
      detail: err.detail,
      hint: HINTS[err.code ?? ''] ?? err.hint,
      position: err.position,
      where: err.where,
      schema: err.schema,
      table: err.table,
      constraint: err.constraint,
    },
    sql,
    context,
  );
}

/** Lines describing a database error: message, code, detail, hint, and the SQL line with a caret. */
export function renderDatabaseError(e: DatabaseError): string[] {
  const lines = [`${e.message}${e.pg.code ? ` (SQLSTATE ${e.pg.code})` : ''}`];
  if (e.pg.detail) lines.push(`detail: ${e.pg.detail}`);
  if (e.pg.where) lines.push(`where: ${e.pg.where.split('\n')[0]}`);
  const position = Number(e.pg.position);
  if (e.sql && Number.isInteger(position) && position > 0) lines.push(...caretAt(e.sql, position));
  return lines;
}

/** The line of `sql` holding 1-based character `position`, with a caret under it. */
export function caretAt(sql: string, position: number): string[] {
  const before = sql.slice(0, position - 1);
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEndAt = sql.indexOf('\n', position - 1);
  const lineEnd = lineEndAt === -1 ? sql.length : lineEndAt;
  const lineNumber = before.split('\n').length;
  const prefix = `line ${lineNumber}: `;
  return [
    `${prefix}${sql.slice(lineStart, lineEnd)}`,
    `${' '.repeat(prefix.length + position - 1 - lineStart)}^`,
  ];
}

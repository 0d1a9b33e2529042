import type pg from 'pg';
import { quoteIdent } from './ident.js';

/** Settings applied to every session dbops opens for a job. */
export interface SessionSettings {
  /** lock_timeout in ms; DDL never queues behind a long transaction longer than this. */
  lockTimeoutMs?: number;
  /** statement_timeout in ms; 0 disables. */
  statementTimeoutMs?: number;
  /** Schemas to put on search_path (quoted here; callers pass names from the allowlisted config). */
  searchPath?: string[];
}

/**
 * Applies the settings in one statement (one round trip however many are given): every command
 * pays this before its first real query.
 */
export async function configureSession(client: pg.ClientBase, s: SessionSettings): Promise<void> {
  const settings: [string, string][] = [];
  if (s.lockTimeoutMs !== undefined) settings.push(['lock_timeout', `${s.lockTimeoutMs}ms`]);
  if (s.statementTimeoutMs !== undefined) {
    settings.push(['statement_timeout', `${s.statementTimeoutMs}ms`]);
  }
  if (s.searchPath !== undefined) settings.push(['search_path', searchPathValue(s.searchPath)]);
  if (settings.length === 0) return;
  // Names and values are both parameters: set_config takes the name as text.
  const calls = settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, false)`);
  // A dbops process killed mid-statement (SIGKILL, OOM, a lost network) leaves its backend
  // running the statement to the end, holding its locks and the family's advisory lock, and
  // a rerun waits for it. With client_connection_check_interval (PostgreSQL 14+) the backend
  // notices the closed socket within a second and rolls back. Older servers lack the setting.
  calls.push(
    `CASE WHEN current_setting('server_version_num')::int >= 140000
          THEN set_config('client_connection_check_interval', '${CLIENT_CHECK_MS}ms', false) END`,
  );
  await client.query(`SELECT ${calls.join(', ')}`, settings.flat());
}

/** How often a backend of dbops checks that its client is still there while a statement runs. */
export const CLIENT_CHECK_MS = 1000;

function searchPathValue(schemas: string[]): string {
  return schemas.length > 0 ? schemas.map(quoteIdent).join(', ') : "''";
}

export async function setSearchPath(client: pg.ClientBase, schemas: string[]): Promise<void> {
  await client.query(`SELECT set_config('search_path', $1, false)`, [searchPathValue(schemas)]);
}

/**
 * Runs fn inside BEGIN/COMMIT; rolls back on any error and rethrows it. `begin` may carry more
 * statements after the BEGIN (the transaction's settings), sent in the same round trip.
 */
export async function withTransaction<T>(
  client: pg.ClientBase,
  fn: () => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  await client.query(begin);
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Two-int advisory lock key derived from a name, so every dbops lock is namespaced. */
export const ADVISORY_NAMESPACE = 0x0db0b5;

export async function tryAdvisoryLock(client: pg.ClientBase, name: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok',
    [ADVISORY_NAMESPACE, name],
  );
  return rows[0]?.ok === true;
}

export async function advisoryUnlock(client: pg.ClientBase, name: string): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [ADVISORY_NAMESPACE, name]);
}

/** Who holds a dbops advisory lock right now (for the error message), if anyone. */
export async function advisoryLockHolder(
  client: pg.ClientBase,
  name: string,
): Promise<string | undefined> {
  const { rows } = await client.query<{ who: string }>(
    `SELECT format('pid %s (%s, since %s)', a.pid, coalesce(nullif(a.application_name, ''), 'unknown app'),
                   to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS')) AS who
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.classid = $1::int::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2
      LIMIT 1`,
    [ADVISORY_NAMESPACE, name],
  );
  return rows[0]?.who;
}

/**
 * Takes a named advisory lock, polling for at most waitMs. Returns false when it was not
 * obtained in time; the caller turns that into a LockError naming the holder.
 */
export async function acquireAdvisoryLock(
  client: pg.ClientBase,
  name: string,
  waitMs: number,
  pollMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await tryAdvisoryLock(client, name)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, deadline - Date.now())));
  }
}

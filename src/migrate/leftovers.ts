import type pg from 'pg';
import { ADVISORY_NAMESPACE, CLIENT_CHECK_MS } from '../db/session.js';
import type { FamilyTarget } from './runOne.js';

/**
 * What an interrupted run (Ctrl-C, kill -9, a cut session, a crash) can leave behind that a
 * `migrate status` reader should know about, one line each, with what happens to it:
 * - other dbops sessions in this database (a live run, or the backend of a killed one still
 *   finishing its statement), and the family migration locks they hold;
 * - INVALID indexes in the families' schemas (an interrupted CREATE INDEX CONCURRENTLY).
 * Partly applied families are shown by the status rows themselves; staging tables and copy
 * cursors belong to a pending online migration, which the next `migrate up` continues.
 */
export async function findLeftovers(
  client: pg.ClientBase,
  targets: FamilyTarget[],
): Promise<string[]> {
  const families = targets.map((t) => String(t.def.name));
  const { rows: sessions } = await client.query<{ line: string }>(
    `SELECT format('dbops session pid %s (%s for %s s%s): %s', a.pid, a.state,
                   floor(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start, a.backend_start)))::int,
                   coalesce(', holds the migration lock of ' || string_agg(f.name, ', '), ''),
                   left(regexp_replace(a.query, '\\s+', ' ', 'g'), 120)) AS line
       FROM pg_stat_activity a
       LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
                           AND l.classid = $1::int::oid AND l.objsubid = 2
       LEFT JOIN unnest($2::text[]) f(name) ON l.objid = hashtext('migrate:' || f.name)::oid
      WHERE a.datname = current_database() AND a.application_name = 'dbops' AND a.pid <> pg_backend_pid()
      GROUP BY a.pid, a.state, a.xact_start, a.query_start, a.backend_start, a.query
      ORDER BY a.pid`,
    [ADVISORY_NAMESPACE, families],
  );
  const { rows: invalid } = await client.query<{ line: string }>(
    `SELECT format('INVALID index %I.%I on %I (an interrupted CREATE INDEX CONCURRENTLY)', n.nspname, c.relname, t.relname) AS line
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT (i.indisvalid AND i.indisready) AND n.nspname = ANY ($1)
      ORDER BY 1`,
    [[...new Set(targets.map((t) => t.schema))]],
  );
  const lines: string[] = [];
  if (sessions.length > 0) {
    lines.push(
      ...sessions.map((r) => `found: ${r.line}`),
      `  a live dbops run: let it finish. The backend of a killed one ends by itself within about ${CLIENT_CHECK_MS / 1000} s of its client going away (PostgreSQL 14+), rolling back its step; a rerun waits for it (migrationLockWaitMs).`,
    );
  }
  if (invalid.length > 0) {
    lines.push(
      ...invalid.map((r) => `found: ${r.line}`),
      '  the migration that builds it drops and rebuilds it on the next migrate up (or down); PostgreSQL never uses it meanwhile.',
    );
  }
  return lines;
}

import type pg from 'pg';

/**
 * What a step that ran out of lock_timeout was waiting for: the other sessions of this database
 * whose transaction (or statement, outside a transaction) has been open for at least `waitedMs`,
 * i.e. through the whole wait, with their age, state, query and the tables they hold locks on.
 * A table lock conflict is one of them; CREATE/DROP INDEX CONCURRENTLY also waits for every
 * transaction older than itself in the database, even one that touches no table (a
 * `SELECT pg_sleep(60)`), which holds no lock dbops could name.
 */
export async function sessionsWaitedFor(
  client: pg.ClientBase,
  waitedMs: number,
): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(
    `SELECT format('pid %s (%s%s, %s for %s s%s): %s',
                   a.pid, coalesce(nullif(a.application_name, ''), 'no application_name'),
                   coalesce(', user ' || a.usename, ''), a.state,
                   floor(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)))::int,
                   coalesce(', holds locks on ' || l.tables, ''),
                   left(regexp_replace(a.query, '\\s+', ' ', 'g'), 200)) AS line
       FROM pg_stat_activity a
       LEFT JOIN LATERAL (
         SELECT string_agg(DISTINCT c.relname || ' (' || lk.mode || ')', ', ') AS tables
           FROM pg_locks lk JOIN pg_class c ON c.oid = lk.relation
          WHERE lk.pid = a.pid AND lk.granted AND lk.locktype = 'relation'
            AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)) l ON true
      WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
        AND a.backend_type = 'client backend' AND a.state <> 'idle'
        AND coalesce(a.xact_start, a.query_start) <= now() - $1 * interval '1 ms'
      ORDER BY coalesce(a.xact_start, a.query_start)
      LIMIT 5`,
    [waitedMs],
  );
  return rows.map((r) => r.line);
}

/**
 * Locks a transactional migration takes *after* it already holds one, without ever making a
 * writer the deadlock victim.
 *
 * Applications lock the same tables in both orders (a push reads partitions and then inserts
 * into messages; a plain INSERT locks messages and then, in its foreign key check and triggers,
 * partitions). Whatever order a migration picks, some writer holds the second table and waits
 * for the first. PostgreSQL aborts whichever session's deadlock_timeout (1 s by default) runs
 * out first, and that is the writer, which has waited longest. So the second and later locks
 * are requested with a lock_timeout of half deadlock_timeout: the migration gives up before the
 * writer's deadlock check runs, rolls back (releasing the first lock, so the writer goes on) and
 * is retried with backoff like any lock timeout (lockRetries). The first lock should be the table
 * writers touch first (they then queue on it holding nothing). Found by the chaos suite:
 * `migrate down lookup` under Queen's write mix made pushes fail with 40P01.
 */
export function lockWithoutDeadlockSql(locks: [table: string, mode: string][]): string[] {
  return [
    `SELECT set_config('dbops.lock_timeout', current_setting('lock_timeout'), true),
            set_config('lock_timeout',
                       greatest(1, (extract(epoch FROM current_setting('deadlock_timeout')::interval) * 500)::int) || 'ms',
                       true)`,
    ...locks.map(([table, mode]) => `LOCK TABLE ${table} IN ${mode} MODE`),
    `SELECT set_config('lock_timeout', current_setting('dbops.lock_timeout'), true)`,
  ];
}

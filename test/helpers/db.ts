import pg from 'pg';
import { inject } from 'vitest';
import { urlOf } from '../../src/db/connection.js';
import { createScratchDatabase } from '../../src/db/scratch.js';

/** A throwaway database for one test file. */
export interface TestDatabase {
  name: string;
  url: string;
  /** A connected client for setup and assertions (closed by drop()). */
  client: pg.Client;
  /** Opens another client (e.g. for concurrent writers); caller closes it. */
  connect(): Promise<pg.Client>;
  drop(): Promise<void>;
}

/**
 * Creates `dbops_t_<label>_<random>` on the test server (or on `serverUrl`, e.g. the chaos
 * suite's own cluster); drop() removes it even if clients linger.
 */
export async function createTestDatabase(label: string, serverUrl?: string): Promise<TestDatabase> {
  const server = { url: serverUrl ?? inject('serverUrl'), source: 'DATABASE_URL' as const };
  const scratch = await createScratchDatabase(
    server,
    `dbops_t_${label.replace(/[^a-z0-9]/g, '_')}`,
  );
  const url = urlOf(scratch.spec)!;
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const client = await connect();
  return {
    name: scratch.name,
    url,
    client,
    connect,
    async drop() {
      await client.end().catch(() => {});
      await scratch.drop();
    },
  };
}

/**
 * Waits (up to 10 s) until a session of this database matching `filter` (a condition on
 * pg_stat_activity, with `params`) waits on a heavyweight lock, and says whether it did.
 */
async function waitForLockWait(
  client: pg.ClientBase,
  filter: string,
  params: unknown[] = [],
): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await client.query(
      `SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND ${filter}`,
      params,
    );
    if (rows.length > 0) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * Waits (up to 10 s) until a dbops session of this database waits on a heavyweight lock, and
 * says whether it did: the point at which a test lets the transaction it blocks on commit.
 */
export function waitForDbopsLockWait(client: pg.ClientBase): Promise<boolean> {
  return waitForLockWait(client, "application_name = 'dbops'");
}

/**
 * Waits (up to 10 s) until the backend `pid` (a test's own connection, from pg_backend_pid())
 * waits on a heavyweight lock: how a test with several connections puts their waits in order.
 */
export function waitForBackendLockWait(client: pg.ClientBase, pid: number): Promise<boolean> {
  return waitForLockWait(client, 'pid = $1', [pid]);
}

/**
 * md5 over every row of a table in a stable order: equal iff the rows are identical. With
 * `columns` (quoted identifiers), over those columns only (a table's "original columns", before
 * a family added its own); with `where` (an SQL condition on the table, alias t), over those rows.
 */
export async function tableChecksum(
  client: pg.ClientBase,
  qualifiedTable: string,
  options: { columns?: string[]; where?: string } = {},
): Promise<string> {
  const row = options.columns ? `row(${options.columns.map((c) => `t.${c}`).join(', ')})` : 't';
  const { rows } = await client.query<{ sum: string | null; n: string }>(
    `SELECT md5(coalesce(string_agg(${row}::text, E'\\n' ORDER BY ${row}::text), '')) AS sum, count(*) AS n
       FROM ${qualifiedTable} t WHERE ${options.where ?? 'true'}`,
  );
  return `${rows[0]!.n}:${rows[0]!.sum}`;
}

/**
 * tableChecksum of each table of `tables` (as baseTableColumns returns them), keyed by table;
 * `narrow` may leave out a table's columns or rows (default: all of both).
 */
export async function tableChecksums(
  client: pg.ClientBase,
  tables: Map<string, string[]>,
  narrow: (table: string, columns: string[]) => { columns: string[]; where?: string } = (
    _table,
    columns,
  ) => ({ columns }),
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, columns] of tables)
    out[table] = await tableChecksum(client, table, narrow(table, columns));
  return out;
}

/** The base tables of `schema` (qualified, quoted) with their columns now (quoted, in order). */
export async function baseTableColumns(
  client: pg.ClientBase,
  schema: string,
): Promise<Map<string, string[]>> {
  const { rows } = await client.query<{ t: string; cols: string[] }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t,
            array_agg(quote_ident(a.attname) ORDER BY a.attnum) AS cols
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      GROUP BY 1 ORDER BY 1`,
    [schema],
  );
  return new Map(rows.map((r) => [r.t, r.cols]));
}

/**
 * A text snapshot of everything in the given schemas that a migration could add, change or
 * remove: relations with kind and options, columns with types/defaults/nullability,
 * constraints, indexes, triggers (with enabled state), functions with bodies, partition bounds.
 */
export async function catalogSnapshot(client: pg.ClientBase, schemas: string[]): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(
    `WITH ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = ANY($1))
     SELECT line FROM (
       SELECT format('rel %s.%s kind=%s opts=%s persist=%s', ns.nspname, c.relname, c.relkind, c.reloptions, c.relpersistence) AS line
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind <> 'S' OR true
       UNION ALL
       SELECT format('col %s.%s.%s %s notnull=%s default=%s generated=%s', ns.nspname, c.relname, a.attname,
                     format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated)
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped
       UNION ALL
       SELECT format('con %s.%s %s %s valid=%s', ns.nspname, c.relname, con.conname, pg_get_constraintdef(con.oid), con.convalidated)
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN ns ON ns.oid = c.relnamespace
       UNION ALL
       SELECT format('idx %s %s valid=%s', ns.nspname, pg_get_indexdef(i.indexrelid), i.indisvalid)
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
       UNION ALL
       SELECT format('trg %s.%s %s enabled=%s', ns.nspname, c.relname, pg_get_triggerdef(t.oid), t.tgenabled)
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN ns ON ns.oid = c.relnamespace
        WHERE NOT t.tgisinternal
       UNION ALL
       SELECT format('fn %s.%s(%s) %s config=%s', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc), p.proconfig)
         FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
       UNION ALL
       SELECT format('part %s.%s %s', ns.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid))
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relispartition
       UNION ALL
       SELECT format('type %s.%s', ns.nspname, t.typname)
         FROM pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
     ) s ORDER BY line`,
    [schemas],
  );
  return rows.map((r) => r.line);
}

/**
 * An application's own login role on `db` (not the tables' owner), given `grants` (SQL naming the
 * role as `ROLE`), and a client connected as it: how upstream applications write in production.
 * Drop the role with dropRoles after the database.
 */
export async function connectAsAppRole(
  db: TestDatabase,
  role: string,
  grants: string,
): Promise<pg.Client> {
  await db.client.query(`CREATE ROLE ${role} LOGIN; ${grants.replaceAll('ROLE', role)}`);
  const url = new URL(db.url);
  url.username = role;
  url.password = '';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return client;
}

/**
 * The step journal the variant tests print in afterAll: per step, its exit code and the base
 * tables whose checksum differs from the one taken before up (`before`, set by the test).
 */
export function stepJournal(checksums: () => Promise<Record<string, string>>) {
  const state = {
    before: {} as Record<string, string>,
    journal: [] as Record<string, unknown>[],
    /** Records a step; returns the checksums now. */
    async record(step: string, code: number | null, extra: object = {}) {
      const now = await checksums();
      const changed = Object.keys(state.before).filter((k) => now[k] !== state.before[k]);
      state.journal.push({ step, exit: code, changedSinceBeforeUp: changed, ...extra });
      return now;
    },
  };
  return state;
}

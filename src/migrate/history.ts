import type pg from 'pg';
import { quoteIdent } from '../db/ident.js';

/**
 * Each family keeps its own history table, dbops.migrations_<family>, so one family can be applied
 * and rolled back without touching the others. The table is node-pg-migrate's (id, name, run_on)
 * plus `checksum`, which its INSERT leaves to the column default: the session setting
 * dbops.migration_checksum that the engine sets right before each migration. The history row and
 * its checksum therefore commit together with the migration.
 */
export const HISTORY_SCHEMA = 'dbops';

export function historyTable(family: string): string {
  return `migrations_${family}`;
}

function qualifiedHistory(family: string): string {
  return `${quoteIdent(HISTORY_SCHEMA)}.${quoteIdent(historyTable(family))}`;
}

export interface AppliedMigration {
  name: string;
  runOn: Date;
  checksum: string | null;
}

/** Creates the dbops schema and the family's history table if missing. */
export async function ensureHistory(client: pg.ClientBase, family: string): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(HISTORY_SCHEMA)}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${qualifiedHistory(family)} (
       id serial PRIMARY KEY,
       name varchar(255) NOT NULL UNIQUE,
       run_on timestamptz NOT NULL,
       checksum text DEFAULT nullif(current_setting('dbops.migration_checksum', true), '')
     )`,
  );
}

/** Applied migrations in the order they ran; empty when the history table does not exist yet. */
export async function readApplied(
  client: pg.ClientBase,
  family: string,
): Promise<AppliedMigration[]> {
  return (await readAppliedAll(client, [family])).get(family) ?? [];
}

/**
 * readApplied for several families in one round trip whatever their number, history tables
 * present or not (every migrate, check and resync pays it). A query cannot name a table that may
 * not exist, so a DO block reads the tables that exist (dynamic SQL) and hands the rows to the
 * next statement of the same simple query (one implicit transaction) in a transaction-local
 * setting. Every family given is a key of the result.
 */
export async function readAppliedAll(
  client: pg.ClientBase,
  families: string[],
): Promise<Map<string, AppliedMigration[]>> {
  const result = new Map<string, AppliedMigration[]>(families.map((f) => [f, []]));
  if (families.length === 0) return result;
  for (const f of families) {
    // Inlined below (a simple query takes no parameters): names are table-name suffixes.
    if (!/^[A-Za-z0-9_-]+$/.test(f))
      throw new Error(`invalid family name for a history table: ${f}`);
  }
  const names = families.map((f) => `'${f}'`).join(', ');
  const results = (await client.query(
    `DO $dbops$
     DECLARE
       f text;
       rows jsonb;
       found jsonb := '[]';
     BEGIN
       FOREACH f IN ARRAY ARRAY[${names}]::text[] LOOP
         IF to_regclass(format('%I.%I', '${HISTORY_SCHEMA}', 'migrations_' || f)) IS NOT NULL THEN
           EXECUTE format(
             'SELECT coalesce(jsonb_agg(jsonb_build_array(%L, name,
                       floor(extract(epoch FROM run_on) * 1000)::bigint, checksum)
                     ORDER BY run_on, id), ''[]'') FROM %I.%I',
             f, '${HISTORY_SCHEMA}', 'migrations_' || f) INTO rows;
           found := found || rows;
         END IF;
       END LOOP;
       PERFORM set_config('dbops.history', found::text, true);
     END
     $dbops$;
     SELECT current_setting('dbops.history') AS history`,
  )) as unknown as pg.QueryResult<{ history: string }>[];
  const rows = JSON.parse(results.at(-1)!.rows[0]!.history) as [
    string,
    string,
    number,
    string | null,
  ][];
  for (const [family, name, runOnMs, checksum] of rows) {
    result.get(family)?.push({ name, runOn: new Date(runOnMs), checksum });
  }
  return result;
}

/** Sets the checksum the next history INSERT records (see the table comment above). */
export async function setPendingChecksum(
  client: pg.ClientBase,
  checksum: string | null,
): Promise<void> {
  await client.query(`SELECT set_config('dbops.migration_checksum', $1, false)`, [checksum ?? '']);
}

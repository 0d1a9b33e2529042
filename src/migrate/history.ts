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
 * readApplied for several families in at most two round trips whatever their number: which
 * history tables exist, then one UNION ALL over those (a query cannot name a table that may not
 * exist). Every family given is a key of the result.
 */
export async function readAppliedAll(
  client: pg.ClientBase,
  families: string[],
): Promise<Map<string, AppliedMigration[]>> {
  const result = new Map<string, AppliedMigration[]>(families.map((f) => [f, []]));
  if (families.length === 0) return result;
  const { rows: existing } = await client.query<{ family: string }>(
    `SELECT f AS family FROM unnest($1::text[]) AS f
      WHERE to_regclass(format('%I.%I', $2::text, 'migrations_' || f)) IS NOT NULL`,
    [families, HISTORY_SCHEMA],
  );
  if (existing.length === 0) return result;
  const selects = existing.map(
    (e, i) =>
      `SELECT $${i + 1}::text AS family, id, name, run_on, checksum FROM ${qualifiedHistory(e.family)}`,
  );
  const { rows } = await client.query<{
    family: string;
    name: string;
    run_on: Date;
    checksum: string | null;
  }>(
    `${selects.join('\n UNION ALL ')}\n ORDER BY family, run_on, id`,
    existing.map((e) => e.family),
  );
  for (const r of rows) {
    result.get(r.family)?.push({ name: r.name, runOn: r.run_on, checksum: r.checksum });
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

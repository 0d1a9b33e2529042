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
  const { rows: exists } = await client.query<{ t: string | null }>(
    'SELECT to_regclass($1)::text AS t',
    [qualifiedHistory(family)],
  );
  if (!exists[0]?.t) return [];
  const { rows } = await client.query<{ name: string; run_on: Date; checksum: string | null }>(
    `SELECT name, run_on, checksum FROM ${qualifiedHistory(family)} ORDER BY run_on, id`,
  );
  return rows.map((r) => ({ name: r.name, runOn: r.run_on, checksum: r.checksum }));
}

/** Sets the checksum the next history INSERT records (see the table comment above). */
export async function setPendingChecksum(
  client: pg.ClientBase,
  checksum: string | null,
): Promise<void> {
  await client.query(`SELECT set_config('dbops.migration_checksum', $1, false)`, [checksum ?? '']);
}

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
 * not exist, so the tables that exist are read through query_to_xml (dynamic SQL in a plain
 * SELECT; no procedural language, which a new session would first have to load; it needs no
 * libxml either: xml.c builds the text itself), each table as one JSON array. Every family
 * given is a key of the result. Locally one query costs what the two it replaced (which tables
 * exist, then a UNION ALL over those) cost together; it saves a round trip to a remote server.
 */
export async function readAppliedAll(
  client: pg.ClientBase,
  families: string[],
): Promise<Map<string, AppliedMigration[]>> {
  const result = new Map<string, AppliedMigration[]>(families.map((f) => [f, []]));
  if (families.length === 0) return result;
  const rows = await readAsXml(client, families);
  for (const r of rows) {
    const json = /<j>([\s\S]*)<\/j>/.exec(r.history)?.[1];
    if (json === undefined) throw new Error(`unexpected history of ${r.family}: ${r.history}`);
    const applied = JSON.parse(unescapeXml(json)) as [string, number, string | null][];
    result.get(r.family)?.push(
      ...applied.map(([name, runOnMs, checksum]) => ({
        name,
        runOn: new Date(runOnMs),
        checksum,
      })),
    );
  }
  return result;
}

async function readAsXml(
  client: pg.ClientBase,
  families: string[],
): Promise<{ family: string; history: string }[]> {
  const { rows } = await client.query<{ family: string; history: string }>(
    `SELECT f AS family,
            query_to_xml(
              format('SELECT coalesce(json_agg(json_build_array(name,
                                floor(extract(epoch FROM run_on) * 1000)::bigint, checksum)
                              ORDER BY run_on, id), ''[]'')::text AS j FROM %I.%I',
                     $2::text, 'migrations_' || f),
              false, true, '')::text AS history
       FROM unnest($1::text[]) AS f
      WHERE to_regclass(format('%I.%I', $2::text, 'migrations_' || f)) IS NOT NULL`,
    [families, HISTORY_SCHEMA],
  );
  return rows;
}

/** Text of an XML element as PostgreSQL escapes it (&lt; &gt; &amp; and character references). */
function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e]!;
  });
}

/** Sets the checksum the next history INSERT records (see the table comment above). */
export async function setPendingChecksum(
  client: pg.ClientBase,
  checksum: string | null,
): Promise<void> {
  await client.query(`SELECT set_config('dbops.migration_checksum', $1, false)`, [checksum ?? '']);
}

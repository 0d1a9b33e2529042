import type pg from 'pg';
import { catalogSnapshot } from '../../test/helpers/db.js';
import type { Drift, FamilyHarness } from './harness.js';

/**
 * The catalog of the family's schema, without the suite's own shadow table: compared with the
 * catalog after a clean run, it shows any leftover staging object, invalid index, missing or
 * extra trigger, function or constraint.
 */
export async function familyCatalog(client: pg.ClientBase, h: FamilyHarness): Promise<string[]> {
  return (await catalogSnapshot(client, [h.schema])).filter((l) => !l.includes('writer_shadow'));
}

/** md5 of the original columns (read before any migration) of each base table. */
export async function baseChecksums(
  client: pg.ClientBase,
  columns: Map<string, string[]>,
): Promise<string[]> {
  const sums: string[] = [];
  for (const [table, cols] of columns) {
    const list = cols.map((c) => `t.${JSON.stringify(c)}::text`).join(', ');
    const { rows } = await client.query(
      `SELECT count(*) AS n, md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS sum
         FROM (SELECT ROW(${list})::text AS r FROM ${table} t) x`,
    );
    sums.push(`${table} ${rows[0].n}:${rows[0].sum}`);
  }
  return sums;
}

export async function originalColumns(
  client: pg.ClientBase,
  tables: string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const t of tables) {
    const { rows } = await client.query(
      `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [t],
    );
    out.set(
      t,
      rows.map((r) => r.attname as string),
    );
  }
  return out;
}

/** Everything a run must not leave behind, by name; every value must be 0. */
export async function leftovers(client: pg.ClientBase, family: string): Promise<Drift> {
  const history = `dbops.${JSON.stringify(`migrations_${family}`)}`;
  const hasHistory = (await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [history]))
    .rows[0].ok;
  const { rows } = await client.query(
    `SELECT (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE (NOT i.indisvalid OR NOT i.indisready) AND n.nspname NOT LIKE 'pg\\_%')::int AS "invalidIndexes",
            (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))::int AS "advisoryLocks",
            (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                AND application_name = 'dbops' AND pid <> pg_backend_pid())::int AS "dbopsSessions",
            ${hasHistory ? `(SELECT count(*) FROM (SELECT name FROM ${history} GROUP BY name HAVING count(*) > 1) d)::int` : '0'} AS "historyDuplicates"`,
  );
  return rows[0] as Drift;
}

/** Polls `leftovers` until clean or `ms` passed (a killed client's backend ends on its own). */
export async function leftoversSettled(
  client: pg.ClientBase,
  family: string,
  ms: number,
): Promise<Drift> {
  const deadline = Date.now() + ms;
  for (;;) {
    const l = await leftovers(client, family);
    if (nonZero(l).length === 0 || Date.now() > deadline) return l;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function nonZero(d: Drift): string[] {
  return Object.entries(d)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`);
}

export async function appliedNames(client: pg.ClientBase, family: string): Promise<string[]> {
  const history = `dbops.${JSON.stringify(`migrations_${family}`)}`;
  const ok = (await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [history])).rows[0].ok;
  if (!ok) return [];
  const { rows } = await client.query(`SELECT name FROM ${history} ORDER BY name`);
  return rows.map((r) => r.name as string);
}

import type pg from 'pg';
import type { MigrationFamily } from '../families/types.js';

/**
 * Problems that stop a family's first migration before anything changes: missing schema, base
 * tables or columns, and the family's own shape checks. One line per problem.
 */
export async function findBaseProblems(
  client: pg.ClientBase,
  family: MigrationFamily,
  schema: string,
): Promise<string[]> {
  const { rows } = await client.query<{ table_name: string; column_name: string | null }>(
    `SELECT t.table_name, c.column_name
       FROM unnest($2::text[]) AS t(table_name)
       LEFT JOIN pg_namespace n ON n.nspname = $1
       LEFT JOIN pg_class r ON r.relnamespace = n.oid AND r.relname = t.table_name
                           AND r.relkind IN ('r', 'p')
       LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN LATERAL (SELECT a.attname::text AS column_name) c ON true`,
    [schema, family.baseTables.map((t) => t.table)],
  );
  const present = new Map<string, Set<string>>();
  for (const row of rows) {
    if (row.column_name === null) continue;
    const cols = present.get(row.table_name) ?? new Set<string>();
    cols.add(row.column_name);
    present.set(row.table_name, cols);
  }
  const problems: string[] = [];
  for (const base of family.baseTables) {
    const cols = present.get(base.table);
    if (!cols) {
      problems.push(`table ${schema}.${base.table} is missing`);
      continue;
    }
    const missing = base.columns.filter((c) => !cols.has(c));
    if (missing.length > 0) {
      problems.push(`table ${schema}.${base.table} lacks column(s) ${missing.join(', ')}`);
    }
  }
  if (problems.length === 0 && family.preflight) {
    const found = await family.preflight(client, schema);
    problems.push(...(Array.isArray(found) ? found : found.problems));
  }
  return problems;
}

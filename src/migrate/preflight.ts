import type pg from 'pg';
import { PreconditionError } from '../errors.js';
import type { MigrationFamily } from '../families/types.js';
import { planAppTriggers } from './appTriggers.js';
import type { FamilyTarget } from './runOne.js';

/** What the preflight of one family found, before anything is applied. */
export interface FamilyPreflight {
  family: string;
  problems: string[];
  /** Plan lines: adoptions, extended keys, the application's triggers and how backfills treat them. */
  notes: string[];
  /** How the family's backfill batches run (MigrationContext.appTriggers). */
  appTriggers: 'replica' | 'fire';
}

export interface PreflightOptions {
  /** True when none of the family's migrations is applied: the base schema and the family's own shape checks run too. */
  fresh: boolean;
  /** --fire-app-triggers: let the application's triggers fire on backfills when replica role is not allowed. */
  fireAppTriggers: boolean;
}

/**
 * Everything that stops a family's pending migrations, found in one round and before anything
 * changes: missing schema, base tables or columns, privileges, the family's own catalog-driven
 * checks (types, names, what it adopts), and the application's triggers on the tables its
 * backfills write, with a rehearsal of such an UPDATE. Runs inside a transaction that is always
 * rolled back. `migrate up` and `migrate up --dry-run` both run it, so both say the same.
 */
export async function preflightFamily(
  client: pg.ClientBase,
  target: FamilyTarget,
  options: PreflightOptions,
): Promise<FamilyPreflight> {
  const { def, schema } = target;
  const result: FamilyPreflight = {
    family: String(def.name),
    problems: [],
    notes: [],
    appTriggers: 'fire',
  };
  await client.query('BEGIN');
  try {
    if (options.fresh) {
      result.problems.push(...(await findBaseProblems(client, def, schema)));
      if (def.preflight) {
        const found = await def.preflight(client, schema, {
          columnWriters: target.columnWriters ?? {},
        });
        result.problems.push(...(Array.isArray(found) ? found : found.problems));
        if (!Array.isArray(found)) result.notes.push(...found.notes);
      }
    }
    const triggers = await planAppTriggers(client, def, schema, options.fireAppTriggers);
    result.problems.push(...triggers.problems);
    result.notes.push(...triggers.notes);
    result.appTriggers = triggers.mode;
  } finally {
    await client.query('ROLLBACK');
  }
  return result;
}

/** The refusal for a preflight with problems (the same text for a dry run and a real run). */
export function preflightError(found: FamilyPreflight): PreconditionError {
  return new PreconditionError(
    `family ${found.family} cannot be applied; nothing was changed:\n  - ${found.problems.join('\n  - ')}`,
    `Fix each problem listed and rerun (migrate up ${found.family} --dry-run shows the same check); if the base tables live in another schema, set schemas.${found.family} in dbops.config.json.`,
  );
}

/**
 * Missing schema, base tables or columns, and privileges the migrations need (owning the base
 * tables to add triggers and columns, CREATE on the family's schema, and on the database for the
 * dbops schema). One line per problem; an absent table is one line, not one per column.
 */
export async function findBaseProblems(
  client: pg.ClientBase,
  family: MigrationFamily,
  schema: string,
): Promise<string[]> {
  const { rows } = await client.query<{
    table_name: string;
    found: boolean;
    owned: boolean | null;
    columns: string[] | null;
  }>(
    `SELECT t.table_name, r.oid IS NOT NULL AS found,
            pg_has_role(current_user, r.relowner, 'USAGE') AS owned,
            (SELECT array_agg(a.attname::text) FROM pg_attribute a
              WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
       FROM unnest($2::text[]) AS t(table_name)
       LEFT JOIN pg_namespace n ON n.nspname = $1
       LEFT JOIN pg_class r ON r.relnamespace = n.oid AND r.relname = t.table_name
                           AND r.relkind IN ('r', 'p')`,
    [schema, family.baseTables.map((t) => t.table)],
  );
  const problems = await privilegeProblems(client, schema);
  for (const base of family.baseTables) {
    const row = rows.find((r) => r.table_name === base.table);
    if (!row?.found) {
      problems.push(`table ${schema}.${base.table} is missing`);
      continue;
    }
    const missing = base.columns.filter((c) => !row.columns?.includes(c));
    if (missing.length > 0)
      problems.push(`table ${schema}.${base.table} lacks column(s) ${missing.join(', ')}`);
    if (row.owned === false)
      problems.push(
        `table ${schema}.${base.table} belongs to another role: the migrations add triggers and columns, which needs its owner (run as the owner, or GRANT <owner> TO <this role>)`,
      );
  }
  return problems;
}

async function privilegeProblems(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{
    schema_found: boolean;
    create_schema: boolean | null;
    create_db: boolean;
    dbops: boolean;
  }>(
    `SELECT n.oid IS NOT NULL AS schema_found,
            CASE WHEN n.oid IS NOT NULL THEN has_schema_privilege(n.oid, 'CREATE') END AS create_schema,
            has_database_privilege(current_database(), 'CREATE') AS create_db,
            EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'dbops') AS dbops
       FROM (SELECT 1) one LEFT JOIN pg_namespace n ON n.nspname = $1`,
    [schema],
  );
  const r = rows[0]!;
  const problems: string[] = [];
  if (!r.schema_found) problems.push(`schema ${schema} does not exist`);
  else if (r.create_schema === false)
    problems.push(
      `this role may not create objects in schema ${schema} (GRANT CREATE ON SCHEMA ${schema} TO <this role>)`,
    );
  if (!r.dbops && !r.create_db)
    problems.push(
      'this role may not create the dbops schema (GRANT CREATE ON DATABASE <db> TO <this role>, or create schema dbops for it)',
    );
  return problems;
}

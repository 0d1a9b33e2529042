/**
 * SQL text for the functions and triggers a migration declares once: the same declaration gives
 * the CREATE statement, the DROP statement and the entry of the migration's `installs`
 * manifest, so the three cannot drift apart. Everything here is trusted migration text.
 */
import type { SchemaManifest, TriggerSpec } from '../checks/manifest.js';

export interface PlpgsqlFunction {
  name: string;
  /** Parameters as declared, e.g. 'target uuid, delta integer' (default: none). */
  args?: string;
  /** Their types alone, for DROP FUNCTION, e.g. 'uuid, integer' (default: none). */
  argTypes?: string;
  /** Default: trigger. */
  returns?: string;
  /** The body between the dollar quotes; `check schema` compares it with pg_proc.prosrc. */
  body: string;
}

export interface TriggerDef extends TriggerSpec {
  /** Everything after `CREATE TRIGGER <name>`. */
  clause: string;
}

/**
 * Every function is pinned to the schema it is created in (the family's schema). `orReplace`
 * for online migrations, which must be rerunnable.
 */
export function createFunctionSql(
  f: PlpgsqlFunction,
  options: { orReplace?: boolean } = {},
): string {
  return `
CREATE ${options.orReplace ? 'OR REPLACE ' : ''}FUNCTION ${f.name}(${f.args ?? ''}) RETURNS ${f.returns ?? 'trigger'}
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$${f.body}$fn$`;
}

export function dropFunctionSql(f: PlpgsqlFunction): string {
  return `DROP FUNCTION IF EXISTS ${f.name}(${f.argTypes ?? ''})`;
}

/**
 * `orReplace` (PostgreSQL 14+) redefines an existing trigger under SHARE ROW EXCLUSIVE, the lock
 * CREATE TRIGGER takes: DROP TRIGGER takes ACCESS EXCLUSIVE, and taking that after SHARE ROW
 * EXCLUSIVE in one transaction can deadlock with a writer that read the table before writing it.
 */
export function createTriggerSql(t: TriggerDef, options: { orReplace?: boolean } = {}): string {
  return `CREATE ${options.orReplace ? 'OR REPLACE ' : ''}TRIGGER ${t.name}\n${t.clause}`;
}

export function dropTriggerSql(t: TriggerDef): string {
  return `DROP TRIGGER IF EXISTS ${t.name} ON ${t.table}`;
}

/** The manifest entries for these functions and triggers. */
export function manifestOf(
  functions: PlpgsqlFunction[],
  triggers: TriggerDef[],
): Pick<SchemaManifest, 'functions' | 'triggers'> {
  return {
    functions: functions.map((f) => ({ name: f.name, body: f.body })),
    triggers: triggers.map(({ clause: _clause, ...spec }) => spec),
  };
}

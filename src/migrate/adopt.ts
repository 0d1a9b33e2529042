import { escapeLiteral } from 'pg';
import { quoteIdent } from '../db/ident.js';
import { HISTORY_SCHEMA } from './history.js';

/**
 * Adoption: when an object a family would create already exists because the upstream system
 * created its own version (Queen's partition_lookup, Semantik's monitoring functions, Nova's
 * BIGSERIAL sequence_number), the family takes it over instead of demanding a drop. Before it
 * changes the object, the migration saves the original's definition in dbops.adopted (in the
 * same transaction as the change); the family's down runs that definition again and forgets it.
 * Data that a conversion would overwrite is saved by the family in a table of its own in the
 * dbops schema (keyed by the base row's id), for the same reason.
 *
 * These helpers return SQL for `pgm.sql()`: transactional migrations only queue statements. The
 * family, kind and name are the family's own constants, never user input; they are still
 * written as literals through pg's escapeLiteral.
 */
export const ADOPTED_TABLE = `${HISTORY_SCHEMA}.adopted`;

const ENSURE_SQL = `CREATE SCHEMA IF NOT EXISTS ${HISTORY_SCHEMA};
CREATE TABLE IF NOT EXISTS ${ADOPTED_TABLE} (
  family text NOT NULL,
  kind text NOT NULL,
  name text NOT NULL,
  definition text NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (family, kind, name)
);`;

/** What kind of object was adopted; `definitionOf` says how its DDL is read from the catalog. */
export type AdoptedKind =
  | 'function'
  | 'trigger'
  | 'view'
  | 'materialized view'
  | 'index'
  | 'sql'
  /** A table's catalog snapshot as JSON (not DDL): read back with readOriginal, never EXECUTEd. */
  | 'table'
  /**
   * The operator's index or CHECK constraint, identical to the one the family would create and
   * kept in place of it: its definition is a record, never EXECUTEd; down leaves the object
   * and only forgets the row (keepIdenticalSql, forgetKeptSql).
   */
  | 'kept index'
  | 'kept constraint';

/**
 * SQL that saves `definitionSql` (an expression evaluated at run time, e.g.
 * `pg_get_functiondef('queen.update_partition_lookup_trigger()'::regprocedure)`) as the original
 * of (family, kind, name). A rerun keeps the first saved original (ON CONFLICT DO NOTHING): after
 * an interrupted run the object may already be dbops' version.
 */
export function saveOriginalSql(
  family: string,
  kind: AdoptedKind,
  name: string,
  definitionSql: string,
): string {
  return `${ENSURE_SQL}
INSERT INTO ${ADOPTED_TABLE} (family, kind, name, definition)
SELECT ${escapeLiteral(family)}, ${escapeLiteral(kind)}, ${escapeLiteral(name)}, (${definitionSql})
ON CONFLICT DO NOTHING;`;
}

/**
 * SQL that runs the saved original of (family, kind, name) again and forgets it. Does nothing
 * when nothing was saved (the object was not adopted: dbops created it and its down drops it).
 */
export function restoreOriginalSql(family: string, kind: AdoptedKind, name: string): string {
  return `DO $dbops$
DECLARE ddl text;
BEGIN
  IF to_regclass(${escapeLiteral(ADOPTED_TABLE)}) IS NULL THEN RETURN; END IF;
  DELETE FROM ${ADOPTED_TABLE}
   WHERE family = ${escapeLiteral(family)} AND kind = ${escapeLiteral(kind)} AND name = ${escapeLiteral(name)}
  RETURNING definition INTO ddl;
  IF ddl IS NOT NULL THEN EXECUTE ddl; END IF;
END $dbops$;`;
}

/**
 * SQL that records, for each row (kind, name, definition) of `identicalSql` (the operator's
 * objects identical to the family's, found when nothing of the family is applied yet), that the
 * object was there before: the family's migrations keep it instead of building their own, and
 * its down leaves it. Rerun-safe (the first record is kept).
 */
export function keepIdenticalSql(family: string, identicalSql: string): string {
  return `${ENSURE_SQL}
INSERT INTO ${ADOPTED_TABLE} (family, kind, name, definition)
SELECT ${escapeLiteral(family)}, kept.kind, kept.name, kept.definition FROM (${identicalSql}) kept
ON CONFLICT DO NOTHING;`;
}

/** SQL that forgets every kept object of the family (the objects themselves stay). */
export function forgetKeptSql(family: string): string {
  return `DO $dbops$
BEGIN
  IF to_regclass(${escapeLiteral(ADOPTED_TABLE)}) IS NULL THEN RETURN; END IF;
  DELETE FROM ${ADOPTED_TABLE}
   WHERE family = ${escapeLiteral(family)} AND kind IN ('kept index', 'kept constraint');
END $dbops$;`;
}

/** SQL that forgets the saved original of (family, kind, name) without running it. */
export function forgetOriginalSql(family: string, kind: AdoptedKind, name: string): string {
  return `DO $dbops$
BEGIN
  IF to_regclass(${escapeLiteral(ADOPTED_TABLE)}) IS NULL THEN RETURN; END IF;
  DELETE FROM ${ADOPTED_TABLE}
   WHERE family = ${escapeLiteral(family)} AND kind = ${escapeLiteral(kind)} AND name = ${escapeLiteral(name)};
END $dbops$;`;
}

/** The saved original of (family, kind, name), or undefined when none is saved. */
export async function readOriginal(
  db: { query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> },
  family: string,
  kind: AdoptedKind,
  name: string,
): Promise<string | undefined> {
  const exists = await db.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [ADOPTED_TABLE]);
  if (!(exists.rows[0] as { ok: boolean }).ok) return undefined;
  const { rows } = await db.query(
    `SELECT definition FROM ${ADOPTED_TABLE} WHERE family = $1 AND kind = $2 AND name = $3`,
    [family, kind, name],
  );
  return (rows[0] as { definition: string } | undefined)?.definition;
}

/**
 * An expression building the full DDL of a materialized view: CREATE ... WITH [NO] DATA as it
 * was populated, its indexes, owner, grants and comment (restoring it recomputes its rows).
 */
export function materializedViewDefinition(name: string): string {
  const lit = escapeLiteral(name);
  return `(SELECT format('CREATE MATERIALIZED VIEW %s%s AS %s WITH %sDATA;', c.oid::regclass,
            CASE WHEN c.reloptions IS NOT NULL THEN format(' WITH (%s)', array_to_string(c.reloptions, ', ')) ELSE '' END,
            rtrim(pg_get_viewdef(c.oid), ';'), CASE WHEN c.relispopulated THEN '' ELSE 'NO ' END)
          || coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid) || ';', ' ' ORDER BY i.indexrelid)
                         FROM pg_index i WHERE i.indrelid = c.oid), '')
          || format(' ALTER MATERIALIZED VIEW %s OWNER TO %I;', c.oid::regclass, pg_get_userbyid(c.relowner))
          || coalesce((SELECT string_agg(format('GRANT %s ON %s TO %s%s;', x.privilege_type, c.oid::regclass,
                                CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
                                CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), ' ')
                         FROM aclexplode(c.relacl) x), '')
          || coalesce(format(' COMMENT ON MATERIALIZED VIEW %s IS %L;', c.oid::regclass, obj_description(c.oid, 'pg_class')), '')
     FROM pg_class c WHERE c.oid = ${lit}::regclass)`;
}

/** An expression reading an object's DDL from the catalog, for saveOriginalSql. */
export function definitionOf(
  kind: 'function' | 'trigger' | 'view' | 'index',
  name: string,
): string {
  const lit = escapeLiteral(name);
  switch (kind) {
    case 'function':
      return `pg_get_functiondef(${lit}::regprocedure)`;
    case 'view':
      return `format('CREATE OR REPLACE VIEW %s AS %s', ${lit}, pg_get_viewdef(${lit}::regclass))`;
    case 'index':
      return `pg_get_indexdef(${lit}::regclass)`;
    case 'trigger':
      // name = 'schema.table.trigger'
      return `(SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
                WHERE t.tgrelid = (SELECT (regexp_match(${lit}, '^(.*)\\.[^.]+$'))[1]::regclass)
                  AND t.tgname = (regexp_match(${lit}, '\\.([^.]+)$'))[1])`;
  }
}

/**
 * An expression (evaluated when saved with saveOriginalSql, kind 'sql') whose value is the SQL
 * that puts function `fn` (e.g. `update_partition_lookup_trigger()`, resolved through
 * search_path) back as it is now: its definition, its settings exactly as stored
 * (pg_get_functiondef prints `SET search_path TO 'queen'` for a stored `"queen"`, so each is set
 * again FROM CURRENT, the session's own search_path put back after) and its owner.
 */
export function functionStateSql(fn: string): string {
  return `(SELECT pg_get_functiondef(p.oid) || E';\\n'
  || coalesce((SELECT 'SELECT set_config(''dbops.kept_search_path'', current_setting(''search_path''), true); '
                      || string_agg(format('SELECT set_config(%L, %L, true); ALTER FUNCTION %s SET %I FROM CURRENT;',
                                           split_part(c, '=', 1), substr(c, strpos(c, '=') + 1),
                                           p.oid::regprocedure, split_part(c, '=', 1)), ' ')
                      || ' SELECT set_config(''search_path'', current_setting(''dbops.kept_search_path''), true);'
                 FROM unnest(p.proconfig) c), '')
  || format(' ALTER FUNCTION %s OWNER TO %I;', p.oid::regprocedure, pg_get_userbyid(p.proowner))
  FROM pg_proc p WHERE p.oid = ${escapeLiteral(fn)}::regprocedure)`;
}

/**
 * SQL making trigger function `fn` run as the owner of `table` (both resolved through
 * search_path, the family's schema): SECURITY DEFINER, search_path pinned to `schema`, pg_catalog
 * and pg_temp last (a caller's temporary table cannot stand in for one the function names), owned
 * by that table's owner. For a trigger that writes a table dbops created, which the application's
 * roles were never granted: the write is the family's bookkeeping, done with its owner's rights.
 */
export function runAsOwnerOfSql(fn: string, table: string, schema: string): string[] {
  return [
    `ALTER FUNCTION ${fn} SECURITY DEFINER SET search_path = ${quoteIdent(schema)}, pg_catalog, pg_temp`,
    ownedByOwnerOfSql(table, [`FUNCTION ${fn}`]),
  ];
}

/**
 * SQL giving `objects` (e.g. `FUNCTION f()`, `TABLE t`) to the owner of `table` (resolved through
 * search_path unless qualified), whoever runs dbops (a superuser, say): a family's SECURITY DEFINER
 * trigger functions then act with exactly that owner's rights, on tables that owner owns.
 */
export function ownedByOwnerOfSql(table: string, objects: string[]): string {
  return `DO $dbops$
DECLARE owner text := (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = ${escapeLiteral(table)}::regclass);
BEGIN
${objects.map((o) => `  EXECUTE format(${escapeLiteral(`ALTER ${o.replaceAll('%', '%%')} OWNER TO %I`)}, owner);`).join('\n')}
END $dbops$`;
}

/**
 * A migration that makes trigger function `fn` of `family` run as the owner of `table`
 * (runAsOwnerOfSql), saving first what its down puts back exactly (functionStateSql) under
 * `saved` in dbops.adopted.
 */
export function runAsOwnerMigration(family: string, fn: string, table: string, saved: string) {
  return {
    async up(pgm: { sql(sql: string): void }, ctx: { schema: string }): Promise<void> {
      pgm.sql(saveOriginalSql(family, 'sql', saved, functionStateSql(fn)));
      for (const sql of runAsOwnerOfSql(fn, table, ctx.schema)) pgm.sql(sql);
    },
    async down(pgm: { sql(sql: string): void }): Promise<void> {
      pgm.sql(restoreOriginalSql(family, 'sql', saved));
    },
  };
}

/**
 * lookup 0003: pushes by an application role that is not partition_lookup's owner keep working.
 *
 * The statement trigger on messages (0001) upserts partition_lookup with the pushing session's
 * rights. A role with INSERT on messages and nothing on partition_lookup (which dbops created
 * after the role's grants were made) failed every push: "permission denied for table
 * partition_lookup". The trigger function now runs as partition_lookup's owner (SECURITY
 * DEFINER), with its search_path pinned to the family's schema, pg_catalog and pg_temp last (a
 * caller's temporary table cannot stand in for one it names). It runs once per INSERT statement,
 * so the SET clause costs nothing measurable. One short transaction, catalog only: ALTER FUNCTION
 * takes no lock on messages.
 *
 * Down puts the function's definition and owner back as they were before up (saved by up in
 * dbops.adopted).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { quoteIdent } from '../../src/db/ident.js';
import { restoreOriginalSql, saveOriginalSql } from '../../src/migrate/adopt.js';
import type { MigrationContext } from '../../src/migrate/context.js';

const FUNCTION = 'update_partition_lookup_trigger()';
const SAVED = 'trigger function before 0003';

/**
 * SQL (evaluated by up) that down runs: the function's definition, its settings exactly as stored
 * (pg_get_functiondef prints `SET search_path TO 'queen'` for a stored `"queen"`, so each is set
 * again FROM CURRENT, the session's own value put back after) and its owner.
 */
const BEFORE_UP = `(SELECT pg_get_functiondef(p.oid) || E';\\n'
  || coalesce((SELECT 'SELECT set_config(''dbops.kept_search_path'', current_setting(''search_path''), true); '
                      || string_agg(format('SELECT set_config(%L, %L, true); ALTER FUNCTION %s SET %I FROM CURRENT;',
                                           split_part(c, '=', 1), substr(c, strpos(c, '=') + 1),
                                           p.oid::regprocedure, split_part(c, '=', 1)), ' ')
                      || ' SELECT set_config(''search_path'', current_setting(''dbops.kept_search_path''), true);'
                 FROM unnest(p.proconfig) c), '')
  || format(' ALTER FUNCTION %s OWNER TO %I;', p.oid::regprocedure, pg_get_userbyid(p.proowner))
  FROM pg_proc p WHERE p.oid = '${FUNCTION}'::regprocedure)`;

const OWNED_AS_LOOKUP = `DO $dbops$
BEGIN
  EXECUTE format('ALTER FUNCTION ${FUNCTION} OWNER TO %I',
                 (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'partition_lookup'::regclass));
END $dbops$`;

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.sql(saveOriginalSql('lookup', 'sql', SAVED, BEFORE_UP));
  pgm.sql(
    `ALTER FUNCTION ${FUNCTION} SECURITY DEFINER SET search_path = ${quoteIdent(ctx.schema)}, pg_catalog, pg_temp`,
  );
  pgm.sql(OWNED_AS_LOOKUP);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(restoreOriginalSql('lookup', 'sql', SAVED));
}

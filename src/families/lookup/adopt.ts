/**
 * Adoption of Queen's own partition_lookup. Queen shipped the table (same six columns as dbops')
 * in several shapes: extra indexes (queue_name, partition_id, last_message_created_at DESC, or
 * (queue_name, last_message_created_at DESC)), fillfactor 50 with autovacuum tuning, a queue_name
 * foreign key without ON UPDATE CASCADE, and a statement-level trigger or none at all (0.14
 * dropped it and refreshes the table from the push procedure). Queen's pop and stats procedures
 * read the table, so dbops never drops it: 0001 reshapes it in place in its one short
 * transaction and saves, in dbops.adopted, the SQL that gives Queen's shape back; 0001's down
 * runs that SQL. The rows are then repaired by 0002 (resync pass).
 *
 * All names are unqualified: the migration runs with the family's schema first on search_path.
 */
import { escapeLiteral } from 'pg';
import { ADOPTED_TABLE, restoreOriginalSql, saveOriginalSql } from '../../migrate/adopt.js';

const FAMILY = 'lookup';

/** dbops.adopted names of the three saved originals, per schema. */
export const adoptedNames = (schema: string) => ({
  table: `${schema}.partition_lookup`,
  fn: `${schema}.update_partition_lookup_trigger()`,
  trigger: `${schema}.messages.trg_update_partition_lookup`,
});

/** dbops' table, created when there is none to adopt. */
const CREATE_TABLE = `
    CREATE TABLE partition_lookup (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      queue_name varchar(255) NOT NULL REFERENCES queues (name) ON DELETE CASCADE ON UPDATE CASCADE,
      partition_id uuid NOT NULL REFERENCES partitions (id) ON DELETE CASCADE,
      last_message_id uuid NOT NULL,
      last_message_created_at timestamptz NOT NULL,
      updated_at timestamptz DEFAULT now(),
      UNIQUE (queue_name, partition_id)
    ) WITH (fillfactor = 70);
    CREATE INDEX partition_lookup_partition_id_idx ON partition_lookup (partition_id);`;

/**
 * Creates dbops' table, or brings Queen's to dbops' shape. Each change prepends its inverse to
 * `restore`, so the saved SQL undoes the changes in reverse order:
 * - the three indexes dbops names (check schema looks for them by name): an equivalent index
 *   under another name is renamed, a missing one created;
 * - every other index that backs no constraint is dropped (each one costs every trigger upsert;
 *   one on last_message_created_at makes every update non-HOT), its definition kept;
 * - fillfactor 70 (Queen's other options stay; all of them are put back in their order on down);
 * - a foreign key that is not dbops' (queue_name without ON UPDATE CASCADE) is replaced, NOT
 *   VALID here (no scan under the lock); 0002 validates it after repairing the rows.
 */
const RESHAPE_TABLE = `
DO $adopt$
DECLARE
  tbl oid := (SELECT c.oid FROM pg_class c
               WHERE c.relname = 'partition_lookup' AND c.relkind = 'r'
                 AND c.relnamespace = current_schema()::regnamespace);
  restore text := '';
  keep oid[] := '{}';
  opts text[];
  spec record;
  hit record;
BEGIN
  IF tbl IS NULL THEN
    ${CREATE_TABLE}
    restore := 'DROP TABLE partition_lookup;';
  ELSE
    FOR spec IN SELECT * FROM (VALUES
        ('partition_lookup_pkey', 'p', ARRAY['id'], 'PRIMARY KEY (id)'),
        ('partition_lookup_queue_name_partition_id_key', 'u', ARRAY['queue_name', 'partition_id'],
         'UNIQUE (queue_name, partition_id)'),
        ('partition_lookup_partition_id_idx', 'i', ARRAY['partition_id'], NULL)) v(name, kind, cols, ddl)
    LOOP
      hit := NULL;
      SELECT i.indexrelid, ic.relname::text AS relname, con.conname::text AS conname INTO hit
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = tbl
       WHERE i.indrelid = tbl AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indisvalid
         AND ic.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
         AND (SELECT array_agg(a.attname::text ORDER BY k.ord)
                FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = k.attnum) = spec.cols
         AND CASE spec.kind WHEN 'p' THEN i.indisprimary
                            WHEN 'u' THEN i.indisunique AND NOT i.indisprimary AND con.contype = 'u'
                            ELSE con.oid IS NULL END
       ORDER BY (ic.relname = spec.name) DESC, ic.relname LIMIT 1;
      IF hit.indexrelid IS NULL THEN
        IF spec.ddl IS NULL THEN
          EXECUTE format('CREATE INDEX %I ON partition_lookup (partition_id)', spec.name);
          restore := format('DROP INDEX %I;', spec.name) || restore;
        ELSE
          EXECUTE format('ALTER TABLE partition_lookup ADD CONSTRAINT %I %s', spec.name, spec.ddl);
          restore := format('ALTER TABLE partition_lookup DROP CONSTRAINT %I;', spec.name) || restore;
        END IF;
        keep := keep || (SELECT c.oid FROM pg_class c
                          WHERE c.relname = spec.name AND c.relnamespace = current_schema()::regnamespace);
      ELSE
        IF hit.relname <> spec.name AND hit.conname IS NOT NULL THEN
          EXECUTE format('ALTER TABLE partition_lookup RENAME CONSTRAINT %I TO %I', hit.conname, spec.name);
          restore := format('ALTER TABLE partition_lookup RENAME CONSTRAINT %I TO %I;', spec.name, hit.conname) || restore;
        ELSIF hit.relname <> spec.name THEN
          EXECUTE format('ALTER INDEX %I RENAME TO %I', hit.relname, spec.name);
          restore := format('ALTER INDEX %I RENAME TO %I;', spec.name, hit.relname) || restore;
        END IF;
        keep := keep || hit.indexrelid;
      END IF;
    END LOOP;

    FOR hit IN SELECT ic.relname::text AS relname, pg_get_indexdef(i.indexrelid) AS def
                   FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                  WHERE i.indrelid = tbl AND NOT (i.indexrelid = ANY (keep))
                    AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
                  ORDER BY ic.relname LOOP
      EXECUTE format('DROP INDEX %I', hit.relname);
      restore := hit.def || ';' || restore;
    END LOOP;

    opts := (SELECT reloptions FROM pg_class WHERE oid = tbl);
    ALTER TABLE partition_lookup SET (fillfactor = 70);
    restore := 'ALTER TABLE partition_lookup RESET ('
      || (SELECT string_agg(DISTINCT k, ', ') FROM (SELECT 'fillfactor'
           UNION SELECT split_part(o, '=', 1) FROM unnest(opts) o) x(k)) || ');'
      || coalesce('ALTER TABLE partition_lookup SET ('
           || (SELECT string_agg(format('%s = %L', split_part(o, '=', 1), substr(o, strpos(o, '=') + 1)), ', ' ORDER BY n)
                 FROM unnest(opts) WITH ORDINALITY u(o, n)) || ');', '')
      || restore;

    FOR spec IN SELECT * FROM (VALUES
        ('queue_name', 'queues', 'name', 'c', 'ON UPDATE CASCADE ON DELETE CASCADE'),
        ('partition_id', 'partitions', 'id', 'a', 'ON DELETE CASCADE')) v(col, ref, refcol, upd, actions)
    LOOP
      CONTINUE WHEN (SELECT count(*) = 1 AND bool_and(
                       con.confrelid = (SELECT c.oid FROM pg_class c WHERE c.relname = spec.ref
                                          AND c.relnamespace = current_schema()::regnamespace)
                       AND con.confkey = ARRAY[(SELECT attnum FROM pg_attribute
                                                 WHERE attrelid = con.confrelid AND attname = spec.refcol)]
                       AND con.confupdtype = spec.upd::"char" AND con.confdeltype = 'c'
                       AND con.confmatchtype = 's' AND NOT con.condeferrable)
                       FROM pg_constraint con
                      WHERE con.conrelid = tbl AND con.contype = 'f'
                        AND con.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                                 WHERE attrelid = tbl AND attname = spec.col)]);
      FOR hit IN SELECT con.conname::text AS conname, pg_get_constraintdef(con.oid) AS def
                     FROM pg_constraint con
                    WHERE con.conrelid = tbl AND con.contype = 'f'
                      AND con.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                               WHERE attrelid = tbl AND attname = spec.col)] LOOP
        EXECUTE format('ALTER TABLE partition_lookup DROP CONSTRAINT %I', hit.conname);
        restore := format('ALTER TABLE partition_lookup ADD CONSTRAINT %I %s;', hit.conname, hit.def) || restore;
      END LOOP;
      EXECUTE format('ALTER TABLE partition_lookup ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %I (%I) %s NOT VALID',
                     'partition_lookup_' || spec.col || '_fkey', spec.col, spec.ref, spec.refcol, spec.actions);
      restore := format('ALTER TABLE partition_lookup DROP CONSTRAINT %I;', 'partition_lookup_' || spec.col || '_fkey') || restore;
    END LOOP;
  END IF;
  INSERT INTO ${ADOPTED_TABLE} (family, kind, name, definition)
  VALUES (${escapeLiteral(FAMILY)}, 'sql', __TABLE_NAME__, restore) ON CONFLICT DO NOTHING;
END $adopt$;`;

/** SQL for 0001 up, before the function and trigger are (re)created: save, then reshape. */
export function adoptUpSql(schema: string): string[] {
  const names = adoptedNames(schema);
  const fnDef = `coalesce((SELECT pg_get_functiondef(p.oid) FROM pg_proc p
                            WHERE p.proname = 'update_partition_lookup_trigger' AND p.pronargs = 0
                              AND p.pronamespace = current_schema()::regnamespace),
                          'DROP FUNCTION IF EXISTS update_partition_lookup_trigger()')`;
  // CREATE OR REPLACE TRIGGER swaps the definition in place (never a moment without one) and
  // resets the enabled state, so a disabled or replica-only original is put back explicitly.
  const triggerDef = `coalesce((SELECT regexp_replace(pg_get_triggerdef(t.oid), '^CREATE TRIGGER', 'CREATE OR REPLACE TRIGGER')
                                  || CASE t.tgenabled WHEN 'D' THEN '; ALTER TABLE messages DISABLE TRIGGER trg_update_partition_lookup'
                                                      WHEN 'R' THEN '; ALTER TABLE messages ENABLE REPLICA TRIGGER trg_update_partition_lookup'
                                                      WHEN 'A' THEN '; ALTER TABLE messages ENABLE ALWAYS TRIGGER trg_update_partition_lookup'
                                                      ELSE '' END
                                 FROM pg_trigger t
                                WHERE t.tgname = 'trg_update_partition_lookup'
                                  AND t.tgrelid = (SELECT c.oid FROM pg_class c WHERE c.relname = 'messages'
                                                     AND c.relnamespace = current_schema()::regnamespace)),
                              'DROP TRIGGER IF EXISTS trg_update_partition_lookup ON messages')`;
  return [
    saveOriginalSql(FAMILY, 'trigger', names.trigger, triggerDef),
    saveOriginalSql(FAMILY, 'function', names.fn, fnDef),
    RESHAPE_TABLE.replace('__TABLE_NAME__', escapeLiteral(names.table)),
  ];
}

/**
 * SQL for 0001 down: Queen's trigger, function and table shape as they were (or DROPs where
 * dbops created them). A database migrated by a dbops without adoption has no saved originals:
 * dbops created everything then, so it drops everything.
 */
export function adoptDownSql(schema: string): string[] {
  const names = adoptedNames(schema);
  return [
    `DO $legacy$
BEGIN
  IF to_regclass(${escapeLiteral(ADOPTED_TABLE)}) IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM ${ADOPTED_TABLE} WHERE family = ${escapeLiteral(FAMILY)}
                AND kind = 'sql' AND name = ${escapeLiteral(names.table)}) THEN
      RETURN;
    END IF;
  END IF;
  DROP TRIGGER IF EXISTS trg_update_partition_lookup ON messages;
  DROP FUNCTION IF EXISTS update_partition_lookup_trigger();
  DROP TABLE IF EXISTS partition_lookup;
END $legacy$;`,
    restoreOriginalSql(FAMILY, 'trigger', names.trigger),
    restoreOriginalSql(FAMILY, 'function', names.fn),
    restoreOriginalSql(FAMILY, 'sql', names.table),
  ];
}

/** True when 0001 adopted an existing table (its saved original is not a DROP TABLE). */
export const ADOPTED_TABLE_QUERY = `SELECT EXISTS (SELECT 1 FROM ${ADOPTED_TABLE}
  WHERE family = '${FAMILY}' AND kind = 'sql' AND name = $1 AND definition NOT LIKE 'DROP TABLE%') AS adopted`;

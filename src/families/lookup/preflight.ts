import type pg from 'pg';
import type { PreflightResult } from '../types.js';

/**
 * What lookup's first migration needs beyond base tables and columns, read from the catalog
 * (tolerates absent tables: every problem in one round). The foreign key on
 * partition_lookup.queue_name needs what PostgreSQL accepts for one: any valid, immediate,
 * non-partial unique index on queues (name) alone, under any name, whether it backs a constraint
 * or not (an operator may have built it CONCURRENTLY as a plain index; Queen's own uniqueness on
 * messages is one). A DEFERRABLE unique constraint is not enough. A partition_lookup,
 * update_partition_lookup_trigger() or trg_update_partition_lookup that already exists (Queen's
 * own) is adopted in place (./adopt.ts); only what adoption cannot keep is refused, each with the
 * command that fixes it.
 */
const PROBLEMS = `
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
pl AS (SELECT c.oid, c.relkind FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relname = 'partition_lookup'),
wanted(col, types) AS (VALUES ('id', '{uuid}'::text[]), ('queue_name', '{"character varying",text}'),
  ('partition_id', '{uuid}'), ('last_message_id', '{uuid}'),
  ('last_message_created_at', '{"timestamp with time zone"}'), ('updated_at', '{"timestamp with time zone"}'))
SELECT format('queues.name has no unique index a foreign key can use (partition_lookup.queue_name references it; '
              'one on (name) alone, not partial, not deferrable%s): CREATE UNIQUE INDEX CONCURRENTLY ON %I.queues (name), then run dbops migrate up lookup',
              (SELECT ', ' || string_agg(format('%I is DEFERRABLE', k.conname), ', ' ORDER BY k.conname)
                 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid, ns
                WHERE c.relnamespace = ns.oid AND c.relname = 'queues' AND k.contype IN ('u', 'p')
                  AND k.condeferrable
                  AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = c.oid AND attname = 'name')]),
              $1) AS problem
 WHERE NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid, ns
                    WHERE c.relnamespace = ns.oid AND c.relname = 'queues'
                      AND i.indisunique AND i.indimmediate AND i.indisvalid
                      AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 1
                      AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                                          WHERE attrelid = c.oid AND attname = 'name'))
UNION ALL
SELECT format('partition_lookup exists but is not a plain table (relkind %s), dbops cannot adopt it: drop it (DROP %s %I.partition_lookup), then run dbops migrate up lookup',
              pl.relkind, CASE pl.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, $1)
  FROM pl WHERE pl.relkind <> 'r'
UNION ALL
SELECT format('partition_lookup.%s is %s, dbops needs %s to adopt the table: ALTER TABLE %I.partition_lookup %s, then run dbops migrate up lookup',
              w.col, coalesce(format_type(a.atttypid, NULL), 'missing'), array_to_string(w.types, ' or '), $1,
              CASE WHEN a.attnum IS NULL THEN format('ADD COLUMN %I %s', w.col, w.types[1])
                   ELSE format('ALTER COLUMN %I TYPE %s', w.col, w.types[1]) END)
  FROM pl CROSS JOIN wanted w
  LEFT JOIN pg_attribute a ON a.attrelid = pl.oid AND a.attname = w.col AND a.attnum > 0 AND NOT a.attisdropped
 WHERE pl.relkind = 'r' AND (a.attnum IS NULL OR NOT format_type(a.atttypid, NULL) = ANY (w.types))
UNION ALL
SELECT format('partition_lookup.%I is NOT NULL without a default, so the trigger''s inserts would fail: ALTER TABLE %I.partition_lookup ALTER COLUMN %I DROP NOT NULL, then run dbops migrate up lookup',
              a.attname, $1, a.attname)
  FROM pl JOIN pg_attribute a ON a.attrelid = pl.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE pl.relkind = 'r' AND a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
   AND a.attname NOT IN (SELECT col FROM wanted)
UNION ALL
SELECT format('partition_lookup''s primary key %I is not on (id), dbops cannot adopt it: ALTER TABLE %I.partition_lookup DROP CONSTRAINT %I, then run dbops migrate up lookup',
              k.conname, $1, k.conname)
  FROM pl JOIN pg_constraint k ON k.conrelid = pl.oid AND k.contype = 'p'
 WHERE k.conkey <> ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = pl.oid AND attname = 'id')]
UNION ALL
SELECT format('%I.%s returns %s, not trigger, so it cannot be replaced: DROP FUNCTION %I.%s, then run dbops migrate up lookup',
              $1, p.oid::regprocedure, format_type(p.prorettype, NULL), $1, p.oid::regprocedure)
  FROM pg_proc p, ns
 WHERE p.pronamespace = ns.oid AND p.proname = 'update_partition_lookup_trigger' AND p.pronargs = 0
   AND p.prorettype <> 'trigger'::regtype`;

/** One plan note per adopted object: what is kept, what changes, what down gives back. */
const NOTES = `
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
pl AS (SELECT c.oid, c.reloptions FROM pg_class c, ns
        WHERE c.relnamespace = ns.oid AND c.relname = 'partition_lookup' AND c.relkind = 'r'),
msgs AS (SELECT c.oid FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relname = 'messages')
SELECT format('partition_lookup exists (Queen''s own): adopted in place, never dropped; reloptions %s -> fillfactor 70; '
              'an index on (partition_id) is kept as partition_lookup_partition_id_idx (renamed back on down); '
              'indexes dropped (restored on down): %s; its rows are repaired by a resync pass after the backfill',
              coalesce(array_to_string(pl.reloptions, ','), 'default'),
              coalesce((SELECT string_agg(ic.relname, ', ' ORDER BY ic.relname)
                          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                         WHERE i.indrelid = pl.oid
                           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                           AND NOT (i.indnatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL
                                    AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                                                        WHERE attrelid = pl.oid AND attname = 'partition_id'))),
                       'none')) AS note
  FROM pl
UNION ALL
SELECT format('%I.update_partition_lookup_trigger() exists: replaced by dbops'' body (CREATE OR REPLACE); down restores Queen''s', $1)
  FROM pg_proc p, ns
 WHERE p.pronamespace = ns.oid AND p.proname = 'update_partition_lookup_trigger' AND p.pronargs = 0
UNION ALL
SELECT format('trigger trg_update_partition_lookup on messages exists (%s, %s): replaced in place by dbops'' statement-level trigger; down restores Queen''s',
              CASE WHEN t.tgtype & 1 = 1 THEN 'row-level' ELSE 'statement-level' END,
              CASE t.tgenabled WHEN 'D' THEN 'disabled' ELSE 'enabled' END)
  FROM pg_trigger t JOIN msgs ON msgs.oid = t.tgrelid WHERE t.tgname = 'trg_update_partition_lookup'
UNION ALL
SELECT 'partition_lookup exists without trigger trg_update_partition_lookup on messages: dbops adds it; down removes it again'
  FROM pl WHERE NOT EXISTS (SELECT 1 FROM pg_trigger t JOIN msgs ON msgs.oid = t.tgrelid
                             WHERE t.tgname = 'trg_update_partition_lookup')`;

export async function lookupPreflight(
  client: pg.ClientBase,
  schema: string,
): Promise<PreflightResult> {
  const problems = await client.query<{ problem: string }>(PROBLEMS, [schema]);
  const notes = await client.query<{ note: string }>(NOTES, [schema]);
  return {
    problems: problems.rows.map((r) => `${schema}: ${r.problem}`),
    notes: notes.rows.map((r) => `${schema}: ${r.note}`),
  };
}

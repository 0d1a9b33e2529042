import type pg from 'pg';
import { HASH_LAYOUT, LIST_LAYOUT } from './layouts.js';
import { describeShapeDifferences } from './shapeReport.js';

/**
 * The exact shape of Semantik's 16-HASH chunks table (UPSTREAM.md section 1, with the names
 * PostgreSQL gives), as lines. The family moves rows out of this shape and rebuilds it on `down`,
 * so it refuses any other: an extra column, index, trigger or option would not survive the round
 * trip, and a view or foreign key pointing at chunks would follow the renamed table.
 */
export function expectedHashShape(): string[] {
  const lines = [
    'partitioned HASH (collection_id)',
    'column id character varying NOT NULL',
    'column collection_id character varying NOT NULL',
    'column document_id character varying NOT NULL',
    'column chunking_config_id integer',
    'column chunk_index integer NOT NULL',
    'column content text NOT NULL',
    'column start_offset integer',
    'column end_offset integer',
    'column token_count integer',
    'column embedding_vector_id character varying',
    'column created_at timestamp with time zone NOT NULL DEFAULT now()',
    'column meta json',
  ];
  const fks = [
    'chunks_collection_id_fkey FOREIGN KEY (collection_id) REFERENCES collections(id) ON DELETE CASCADE',
    'chunks_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents(id) ON DELETE CASCADE',
  ];
  const tables = [
    { name: 'chunks', onTable: (ix: (typeof HASH_LAYOUT.indexes)[number]) => ix.live },
    ...HASH_LAYOUT.partitions.map((p) => ({
      name: p.name,
      onTable: (ix: (typeof HASH_LAYOUT.indexes)[number]) => ix.onPartition(p.name),
    })),
  ];
  for (const p of HASH_LAYOUT.partitions) {
    lines.push(
      `partition ${p.name} ${p.bound.replace(/MODULUS|REMAINDER/g, (m) => m.toLowerCase())}`,
    );
  }
  for (const t of tables) {
    for (const fk of fks) lines.push(`constraint ${t.name}.${fk}`);
    for (const ix of HASH_LAYOUT.indexes) {
      const name = t.onTable(ix);
      const unique = ix.constraint ? 'UNIQUE ' : '';
      lines.push(`index ${t.name}.${name} ${unique}USING btree ${ix.columns}`);
      if (ix.constraint) lines.push(`constraint ${t.name}.${name} ${ix.constraint} ${ix.columns}`);
    }
  }
  return lines.sort();
}

/** The same lines, read from the catalog for schema.chunks (empty when there is no such table). */
const ACTUAL_SHAPE_SQL = `
WITH t AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = 'chunks'),
     rels AS (SELECT c.oid, c.relname, c.relkind, c.relpartbound, c.reloptions, c.relpersistence, c.relrowsecurity
                FROM pg_class c
               WHERE c.oid IN (SELECT oid FROM t)
                  OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent IN (SELECT oid FROM t)))
SELECT line FROM (
  SELECT 'partitioned ' || coalesce(pg_get_partkeydef(t.oid), 'no (not a partitioned table)') FROM t
  UNION ALL
  SELECT format('partition %s %s', r.relname, pg_get_expr(r.relpartbound, r.oid))
         || CASE WHEN r.relkind <> 'r' THEN ' (itself partitioned or not a table)' ELSE '' END
    FROM rels r WHERE r.relpartbound IS NOT NULL
  UNION ALL
  SELECT format('column %s %s', a.attname, format_type(a.atttypid, a.atttypmod))
         || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
         || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid IN (SELECT oid FROM t) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %s.%s %s', r.relname, con.conname,
                replace(pg_get_constraintdef(con.oid), quote_ident($1) || '.', ''))
    FROM pg_constraint con JOIN rels r ON r.oid = con.conrelid
  UNION ALL
  SELECT format('index %s.%s %s%s', r.relname, ic.relname, CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END,
                substring(pg_get_indexdef(i.indexrelid) from 'USING .*$'))
    FROM pg_index i JOIN rels r ON r.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
  UNION ALL
  SELECT format('trigger %s.%s', r.relname, tg.tgname)
    FROM pg_trigger tg JOIN rels r ON r.oid = tg.tgrelid WHERE NOT tg.tgisinternal
  UNION ALL
  SELECT format('options %s %s', r.relname, r.reloptions) FROM rels r WHERE r.reloptions IS NOT NULL
  UNION ALL
  SELECT format('unlogged or temporary %s', r.relname) FROM rels r WHERE r.relpersistence <> 'p'
  UNION ALL
  SELECT format('row level security on %s', r.relname) FROM rels r WHERE r.relrowsecurity
  UNION ALL
  SELECT DISTINCT format('view %s depends on %s', v.relname, r.relname)
    FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid JOIN pg_class v ON v.oid = rw.ev_class
    JOIN rels r ON r.oid = d.refobjid
   WHERE d.classid = 'pg_rewrite'::regclass AND v.oid <> r.oid
  UNION ALL
  SELECT format('foreign key %s.%s references %s', fc.relname, con.conname, r.relname)
    FROM pg_constraint con JOIN rels r ON r.oid = con.confrelid JOIN pg_class fc ON fc.oid = con.conrelid
   WHERE con.contype = 'f' AND con.conparentid = 0
) s(line)`;

/** Names the family creates next to chunks; any of them existing already is a conflict. */
export const CREATED_NAMES = [
  LIST_LAYOUT.staging,
  HASH_LAYOUT.staging,
  ...LIST_LAYOUT.partitions.map((p) => p.name),
  'chunks_copy_changes',
  'chunks_copy_progress',
  'chunk_partition_key',
  'chunk_partition_key_missing',
  'chunk_partition_key_mismatch',
  'get_partition_key',
  'partition_health',
  'partition_distribution',
  'partition_skew_thresholds',
  'collection_chunking_stats',
  'get_partition_for_collection',
  'analyze_partition_skew',
  'refresh_collection_chunking_stats',
];

const CONFLICTS_SQL = `
SELECT n AS name FROM unnest($2::text[]) n
 WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = n AND c.relnamespace = to_regnamespace($1))
    OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = n AND p.pronamespace = to_regnamespace($1))
    OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typname = n AND t.typnamespace = to_regnamespace($1)
                                         AND t.typtype = 'd')`;

/** Semantik's own objects of these names (its migrations 52db15bd2686 and 8f67aa430c5d). */
const SEMANTIK_OWN = new Set([
  'collection_chunking_stats',
  'analyze_partition_skew',
  'refresh_collection_chunking_stats',
]);

/** The partition family's preflight: one line per reason the base chunks table cannot be moved. */
export async function findChunksShapeProblems(
  client: pg.ClientBase,
  schema: string,
): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(ACTUAL_SHAPE_SQL, [schema]);
  const actual = new Set(rows.map((r) => r.line));
  const expected = expectedHashShape();
  const missing = expected.filter((l) => !actual.has(l));
  const unexpected = [...actual].filter((l) => !expected.includes(l)).sort();
  const problems = rows.length === 0 ? [] : describeShapeDifferences(schema, missing, unexpected);
  const conflicts = await client.query<{ name: string }>(CONFLICTS_SQL, [schema, CREATED_NAMES]);
  for (const { name } of conflicts.rows) {
    problems.push(
      SEMANTIK_OWN.has(name)
        ? `${schema}.${name} already exists (Semantik's own): the family would replace it with its ` +
            '100-LIST version; adopting it (original saved, restored on down) is not done yet (issue 15 C)'
        : `${schema}.${name} already exists: the partition family creates an object of that name; rename or drop it`,
    );
  }
  return problems;
}

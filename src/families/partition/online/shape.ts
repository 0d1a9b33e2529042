import type pg from 'pg';
import { readCatalog } from '../../../catalog/snapshot.js';
import type { PreflightResult } from '../../types.js';
import { DEFAULT_PARTITION, RELEASE_FUNCTION, REROUTE_FUNCTION } from './key.js';
import { hashLayout, listLayout } from './layouts.js';
import { originalProblems } from './original.js';
import { rowsOf, type Sql } from './sql.js';

/** Names the family creates next to chunks (besides the LIST table's); any of them existing already is a conflict. */
const CREATED_NAMES = [
  'chunks_list',
  'chunks_hash',
  DEFAULT_PARTITION,
  REROUTE_FUNCTION,
  RELEASE_FUNCTION,
  'chunks_copy_changes',
  'chunks_copy_progress',
  'chunk_partition_key',
  'chunk_partition_key_missing',
  'chunk_partition_key_mismatch',
  'get_partition_key',
  'partition_skew_thresholds',
];

/**
 * Semantik's own objects of names the family creates (its migrations 52db15bd2686 and
 * 8f67aa430c5d; the seed's monitoring view and function names too, should a deployment have
 * its own): adopted, i.e. their definitions saved in dbops.adopted and replaced by 0005;
 * `down` restores them.
 */
export const SEMANTIK_OWN = [
  'collection_chunking_stats',
  'analyze_partition_skew',
  'refresh_collection_chunking_stats',
  'partition_health',
  'partition_distribution',
  'get_partition_for_collection',
];

const CONFLICTS_SQL = `
SELECT n AS name FROM unnest($2::text[]) n
 WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = n AND c.relnamespace = to_regnamespace($1))
    OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = n AND p.pronamespace = to_regnamespace($1))
    OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typname = n AND t.typnamespace = to_regnamespace($1)
                                         AND t.typtype = 'd')`;

/**
 * Objects bound to chunks (or a partition) by OID that the swap would leave on the old table:
 * anything depending on it normally other than a view's rule (recreated), a publication's row
 * filter or column list (moved in the swap) or a foreign key (reported by originalProblems), e.g. a BEGIN ATOMIC function; and extended statistics.
 * Also what uses its row type (or an array of it): a function taking or returning chunks, a
 * column of type chunks. The type is the table's own, so after the swap it is the retired
 * table's: a view calling such a function could not be recreated on the new chunks, and the old
 * table could not be dropped.
 */
const OTHER_DEPENDENTS_SQL = `
SELECT DISTINCT ON (what) what, how FROM (
WITH t AS (SELECT c.oid FROM pg_class c WHERE c.relname = 'chunks' AND c.relnamespace = to_regnamespace($1)),
rels AS (SELECT oid FROM t UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent IN (SELECT oid FROM t)),
types AS (SELECT ty.oid FROM pg_type ty WHERE ty.typrelid IN (SELECT oid FROM rels)
          UNION ALL
          SELECT arr.oid FROM pg_type arr JOIN pg_type ty ON ty.oid = arr.typelem WHERE ty.typrelid IN (SELECT oid FROM rels))
SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) AS what, 'depends on' AS how
  FROM pg_depend d
 WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid IN (SELECT oid FROM rels)
   AND ((d.deptype = 'n' AND d.classid NOT IN ('pg_rewrite'::regclass, 'pg_constraint'::regclass,
                                               'pg_publication_rel'::regclass))
        OR d.classid = 'pg_statistic_ext'::regclass)
   -- a generated column's expression depends on its own table: it is the column (originalProblems)
   AND NOT (d.classid = 'pg_attrdef'::regclass
            AND d.objid IN (SELECT oid FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM rels)))
UNION
SELECT pg_describe_object(d.classid, d.objid, d.objsubid), 'uses the row type of'
  FROM pg_depend d
 WHERE d.refclassid = 'pg_type'::regclass AND d.refobjid IN (SELECT oid FROM types)
   AND d.deptype = 'n' AND d.classid <> 'pg_rewrite'::regclass
) found ORDER BY what, how`;

/**
 * What the swap would leave bound to the old table (OTHER_DEPENDENTS_SQL), one line each; `up`
 * and `down` (before it copies anything) refuse on them.
 */
export async function boundObjectProblems(sql: Sql, schema: string): Promise<string[]> {
  const rows = await rowsOf<{ what: string; how: string }>(sql, OTHER_DEPENDENTS_SQL, [schema]);
  return rows.map(
    ({ what, how }) =>
      `${what} ${how} ${schema}.chunks and would keep the old table (only views and materialized views are recreated): drop it before, recreate it after`,
  );
}

/**
 * The partition family's preflight, driven by the catalog: the reasons the chunks table found
 * cannot be moved and restored exactly (originalProblems), names the move would create that are
 * taken, and the plan notes: keys extended with partition_key, indexes replaced or added, views
 * recreated in the swap, Semantik's own objects adopted.
 */
export async function findChunksShapeProblems(
  client: pg.ClientBase,
  schema: string,
): Promise<PreflightResult> {
  const catalog = await readCatalog(client, schema, { tables: ['chunks'] });
  const t = catalog.tables.get('chunks');
  if (!t) return { problems: [], notes: [] }; // the base-table check reports it
  const problems = originalProblems(t);
  const notes: string[] = [];
  const names = [...CREATED_NAMES];
  if (problems.length === 0) {
    const list = listLayout(t);
    const hash = hashLayout(t);
    notes.push(...list.notes);
    names.push(
      ...list.partitions.map((p) => p.name),
      ...list.indexes.flatMap((ix) => [
        ix.staging,
        ...list.partitions.map((p) => ix.onPartition(p.name)),
      ]),
      ...hash.indexes.map((ix) => ix.staging),
    );
    for (const v of t.dependents) {
      const what = v.kind === 'm' ? 'materialized view' : 'view';
      notes.push(
        `${what} ${v.name} reads chunks${v.depth > 1 ? ' (through other views)' : ''}: dropped and recreated from its saved definition against the new table in the swap transaction` +
          (v.kind === 'm'
            ? `, ${v.populated ? 'refreshed there (WITH DATA)' : 'WITH NO DATA, as it was'}`
            : '') +
          ' (down does the same back)',
      );
    }
    for (const p of t.publications ?? [])
      notes.push(
        `publication ${p.name} lists chunks${p.filter ? ` WHERE ${p.filter}` : ''}${p.columns ? ` (${p.columns.join(', ')})` : ''}: moved to the new table in the swap transaction, same row filter and column list (down does the same back)${p.viaRoot ? '' : '; publish_via_partition_root is off, so subscribers receive changes under the new partition names (chunks_part_NN, chunks_default)'}`,
      );
    for (const name of t.publishedWithSchema ?? [])
      notes.push(
        `publication ${name} publishes all tables (or the schema ${schema}): the staging copies (chunks_list, down: chunks_hash) and their partitions are published too while they are filled; subscribers need those tables, or leave the publication for the move`,
      );
    if (t.replicaIdentity === 'f' || t.replicaIdentity === 'n')
      notes.push(
        `replica identity ${t.replicaIdentity === 'f' ? 'FULL' : 'NOTHING'}: carried to the new table (down restores it)`,
      );
    notes.push(
      `writers that leave partition_key out keep working: their rows land in ${DEFAULT_PARTITION} and are moved to their partition in the same statement`,
    );
  }
  problems.push(...(await boundObjectProblems(client, schema)));
  const conflicts = await client.query<{ name: string }>(CONFLICTS_SQL, [
    schema,
    [...new Set([...names, ...SEMANTIK_OWN])],
  ]);
  for (const { name } of conflicts.rows) {
    if (SEMANTIK_OWN.includes(name))
      notes.push(
        `${schema}.${name} exists (Semantik's own): adopted by 0005 (definition saved in dbops.adopted, replaced by the 100-LIST version; down restores it)`,
      );
    else
      problems.push(
        `${schema}.${name} already exists: the partition family creates an object of that name; rename or drop it`,
      );
  }
  return { problems, notes };
}

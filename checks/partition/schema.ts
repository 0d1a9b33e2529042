import { schemaProblems } from '../../src/checks/schema.js';
import { customCheck } from '../../src/checks/types.js';
import { quoteQualified } from '../../src/db/ident.js';
import { listLayout } from '../../src/families/partition/online/layouts.js';
import { savedOriginal } from '../../src/families/partition/online/original.js';

/** The seed shape's constraints, for a move started before originals were saved. */
const SEED_CONSTRAINTS = [
  { conname: 'chunks_pkey', contype: 'p', def: 'PRIMARY KEY (id, collection_id, partition_key)' },
  {
    conname: 'chunks_collection_id_document_id_chunk_index_key',
    contype: 'u',
    def: 'UNIQUE (collection_id, document_id, chunk_index, partition_key)',
  },
  {
    conname: 'chunks_collection_id_fkey',
    contype: 'f',
    def: 'FOREIGN KEY (collection_id) REFERENCES collections(id) ON DELETE CASCADE',
  },
  {
    conname: 'chunks_document_id_fkey',
    contype: 'f',
    def: 'FOREIGN KEY (document_id) REFERENCES documents(id) ON DELETE CASCADE',
  },
];

/** Constraints and parent indexes the LIST chunks must have, from the saved original. */
async function expectedShape(
  client: Parameters<typeof savedOriginal>[0],
): Promise<{ constraints: typeof SEED_CONSTRAINTS; indexes: string[] }> {
  const original = await savedOriginal(client);
  if (!original) return { constraints: SEED_CONSTRAINTS, indexes: [] };
  const list = listLayout(original);
  return {
    constraints: [
      ...list.indexes
        .filter((ix) => ix.constraint)
        .map((ix) => ({
          conname: ix.live,
          contype: ix.constraint!.startsWith('PRIMARY') ? 'p' : 'u',
          def: ix.constraint!,
        })),
      ...list.foreignKeys.map((fk) => ({ conname: fk.name, contype: 'f', def: fk.definition })),
    ],
    indexes: list.indexes.map((ix) => ix.live),
  };
}

/**
 * What the manifests cannot express about the 100-LIST chunks table (`$1` = the family's schema),
 * one row per problem:
 * - the key: LIST (partition_key), an integer NOT NULL column whose DEFAULT
 *   chunk_partition_key_missing() explains a left-out key, and the CHECK that pins it to
 *   chunk_partition_key(collection_id);
 * - the keys and foreign keys the move carried from the original (`$2`, derived from the original
 *   saved in dbops.adopted: see expectedConstraints), validated, their triggers enabled (ALTER
 *   TABLE ... DISABLE TRIGGER ALL turns them off), and every index it carried;
 * - each parent index valid, with exactly one attached index per partition;
 * - (in run) rows in a partition that is not one of chunks_part_00..99 (a DEFAULT partition,
 *   say): the generic check lists such partitions, this says whether they hold rows;
 * - leftovers of an interrupted `migrate down partition`: the capture trigger, the staging tables.
 */
const PARTITION_PROBLEMS = `
WITH t AS (SELECT to_regclass(format('%I.chunks', $1::text)) AS oid),
cons AS (
  SELECT con.conname, con.contype, con.convalidated, con.confdeltype, con.oid,
         pg_get_constraintdef(con.oid) AS def
    FROM pg_constraint con, t WHERE con.conrelid = t.oid
),
expected AS (SELECT * FROM json_to_recordset($2::json) AS e(conname text, contype text, def text)),
parts AS (
  SELECT c.oid, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid, t
   WHERE i.inhparent = t.oid
)
SELECT 'chunks is not partitioned BY LIST (partition_key): ' || coalesce(pg_get_partkeydef(t.oid), 'not partitioned') AS problem
  FROM t WHERE t.oid IS NOT NULL AND pg_get_partkeydef(t.oid) IS DISTINCT FROM 'LIST (partition_key)'
UNION ALL
SELECT format('chunks.partition_key is %s%s%s, expected integer NOT NULL DEFAULT chunk_partition_key_missing()',
              format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
              coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''))
  FROM t JOIN pg_attribute a ON a.attrelid = t.oid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attname = 'partition_key'
   AND (a.atttypid <> 'integer'::regtype OR NOT a.attnotnull
        OR pg_get_expr(d.adbin, d.adrelid) IS DISTINCT FROM 'chunk_partition_key_missing()')
UNION ALL
SELECT 'check chunks_partition_key_check (partition_key = chunk_partition_key(collection_id)) is missing'
  FROM t WHERE t.oid IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM cons WHERE conname = 'chunks_partition_key_check' AND contype = 'c'
                      AND def LIKE '%chunk_partition_key(collection_id)%')
UNION ALL
SELECT format('check %s is not validated', conname) FROM cons WHERE contype = 'c' AND NOT convalidated
UNION ALL
SELECT format('constraint %s is missing or differs: expected %s', e.conname, e.def)
  FROM expected e, t
 WHERE t.oid IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM cons c WHERE c.conname = e.conname AND c.contype::text = e.contype
                      AND replace(c.def, quote_ident($1::text) || '.', '') = e.def)
UNION ALL
SELECT format('foreign key %s is not validated', conname) FROM cons WHERE contype = 'f' AND NOT convalidated
UNION ALL
SELECT DISTINCT format('foreign key %s has disabled triggers', c.conname)
  FROM cons c JOIN pg_constraint k ON k.oid = c.oid OR k.conparentid = c.oid
  JOIN pg_trigger g ON g.tgconstraint = k.oid
 WHERE c.contype = 'f' AND g.tgenabled = 'D'
UNION ALL
SELECT format('index %s is %s with %s of %s partitions attached', ic.relname,
              CASE WHEN i.indisvalid THEN 'valid' ELSE 'invalid' END,
              (SELECT count(*) FROM pg_inherits h WHERE h.inhparent = i.indexrelid),
              (SELECT count(*) FROM parts))
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid, t
 WHERE i.indrelid = t.oid
   AND (NOT i.indisvalid
        OR (SELECT count(*) FROM pg_inherits h WHERE h.inhparent = i.indexrelid) <> (SELECT count(*) FROM parts))
UNION ALL
SELECT 'capture trigger chunks_copy_capture is still on chunks: an interrupted move; rerun dbops migrate down partition (or up)'
  FROM pg_trigger g, t WHERE g.tgrelid = t.oid AND g.tgname = 'chunks_copy_capture'
UNION ALL
SELECT format('%s exists: an interrupted move left it; rerun dbops migrate down partition (or up)', n)
  FROM unnest(ARRAY['chunks_hash', 'chunks_list', 'chunks_copy_changes']) n
 WHERE to_regclass(format('%I.%I', $1::text, n)) IS NOT NULL`;

/** Partitions of chunks that are not chunks_part_00..99, e.g. a DEFAULT one. */
const OTHER_PARTITIONS = `
SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = to_regclass(format('%I.chunks', $1::text)) AND c.relname !~ '^chunks_part_[0-9]{2}$'
 ORDER BY 1`;

/** The 100-LIST chunks table, its keys, indexes, functions and the monitoring objects, as installed. */
export default customCheck({
  id: 'partition.schema',
  title:
    'chunks LIST (partition_key) into chunks_part_00..99 (bounds 0..99, no other partition holding rows), keys, foreign keys, every per-partition index present, valid and attached, key function, monitoring objects',
  severity: 'fail',
  kind: 'schema',
  hint: 'recreate what is listed, or dbops migrate redo partition --count 5 (moves every row back and forth, rebuilding everything)',
  async run(ctx) {
    const problems = await schemaProblems(ctx.client, ctx.schema, ctx.manifests);
    const expected = await expectedShape(ctx.client);
    const { rows } = await ctx.client.query<{ problem: string }>(PARTITION_PROBLEMS, [
      ctx.schema,
      JSON.stringify(expected.constraints),
    ]);
    problems.push(...rows.map((r) => r.problem));
    const { rows: found } = await ctx.client.query<{ name: string }>(
      `SELECT ic.relname AS name FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = to_regclass(format('%I.chunks', $1::text))`,
      [ctx.schema],
    );
    const have = new Set(found.map((r) => r.name));
    for (const name of expected.indexes)
      if (!have.has(name)) problems.push(`index ${name} on chunks is missing`);
    const others = await ctx.client.query<{ name: string }>(OTHER_PARTITIONS, [ctx.schema]);
    for (const { name } of others.rows) {
      const held = await ctx.client.query<{ rows: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM ${quoteQualified(ctx.schema, name)}) AS rows`,
      );
      if (held.rows[0]?.rows)
        problems.push(`partition ${name} is not one of chunks_part_00..99 and holds rows`);
    }
    return { count: problems.length, sample: problems.slice(0, Math.max(ctx.sampleSize, 10)) };
  },
});

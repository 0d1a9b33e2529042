import type pg from 'pg';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { schemaProblems } from '../../src/checks/schema.js';
import { customCheck } from '../../src/checks/types.js';
import { checkpointFunctions } from '../../src/families/checkpoint/functions.js';
import { readCheckpointShape } from '../../src/families/checkpoint/shape.js';

/**
 * The manifests with the query functions' bodies as 0003 generated them for this schema's shape
 * (keying, types), read again from the catalog: the base tables it depends on are Beckett's and
 * the family never changes them. A shape that cannot be read leaves the placeholders, which then
 * differ (and are reported).
 */
async function withGeneratedBodies(
  client: pg.ClientBase,
  schema: string,
  manifests: SchemaManifest[],
): Promise<SchemaManifest[]> {
  const { shape } = await readCheckpointShape(client, schema);
  if (!shape) return manifests;
  const bodies = new Map(checkpointFunctions(shape).map((f) => [f.name, f.body]));
  return manifests.map((m) => ({
    ...m,
    functions: m.functions?.map((f) => ({ ...f, body: bodies.get(f.name) ?? f.body })),
  }));
}

/**
 * The hot tables' foreign keys, which the manifests cannot express: each hot table references
 * checkpoints(id) ON DELETE CASCADE (deletes clean the hot tables: there is no DELETE trigger),
 * validated, with its internal triggers enabled (ALTER TABLE ... DISABLE TRIGGER ALL turns them
 * off). One row per problem.
 */
const FOREIGN_KEY_PROBLEMS = `
WITH hot(name) AS (VALUES ('checkpoints_ready'), ('checkpoints_reserved')),
fk AS (
  SELECT hot.name, k.oid, k.confdeltype, k.convalidated
    FROM hot
    LEFT JOIN pg_class t ON t.relname = hot.name AND t.relnamespace = to_regnamespace($1)
    LEFT JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f'
          AND k.confrelid = to_regclass(format('%I.checkpoints', $1))
          AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = t.oid AND attname = 'id')]
)
SELECT format('foreign key %s(id) -> checkpoints(id) is missing', name) AS problem
  FROM fk WHERE oid IS NULL AND to_regclass(format('%I.%I', $1, name)) IS NOT NULL
UNION ALL
SELECT format('foreign key %s(id) -> checkpoints(id) is not ON DELETE CASCADE', name)
  FROM fk WHERE oid IS NOT NULL AND confdeltype <> 'c'
UNION ALL
SELECT format('foreign key %s(id) -> checkpoints(id) is not validated', name)
  FROM fk WHERE oid IS NOT NULL AND NOT convalidated
UNION ALL
SELECT format('foreign key %s(id) -> checkpoints(id) has disabled triggers', name)
  FROM fk WHERE EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgconstraint = fk.oid AND g.tgenabled = 'D')`;

/** Tables, keys, indexes, functions and triggers of the checkpoint family, as installed. */
export default customCheck({
  id: 'checkpoint.schema',
  title:
    'checkpoints_ready / checkpoints_reserved with keys (foreign keys ON DELETE CASCADE) and indexes, the rule, functions, AFTER ROW triggers on checkpoints, enabled',
  severity: 'fail',
  kind: 'schema',
  hint: 'dbops migrate redo checkpoint --count 4',
  async run(ctx) {
    const problems = await schemaProblems(
      ctx.client,
      ctx.schema,
      await withGeneratedBodies(ctx.client, ctx.schema, ctx.manifests),
    );
    const { rows } = await ctx.client.query<{ problem: string }>(FOREIGN_KEY_PROBLEMS, [
      ctx.schema,
    ]);
    problems.push(...rows.map((r) => r.problem));
    return { count: problems.length, sample: problems.slice(0, Math.max(ctx.sampleSize, 10)) };
  },
});

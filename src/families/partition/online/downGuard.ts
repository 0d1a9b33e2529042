import { PreconditionError } from '../../../errors.js';
import { KEY_CHECK } from './key.js';
import type { Layout } from './layouts.js';
import { readChunks } from './original.js';
import { boundObjectProblems } from './shape.js';
import type { Sql } from './sql.js';

/**
 * What `down` cannot carry back to the original HASH table: columns, indexes, constraints,
 * triggers and partitions of the live LIST chunks that the move did not create (an operator added
 * them after `up`). One line each, naming them.
 */
export async function addedSinceUp(sql: Sql, schema: string, list: Layout): Promise<string[]> {
  const t = await readChunks(sql, schema);
  if (!t) return [];
  const added: string[] = [];
  const columns = new Set([...list.columns.map((c) => c.name), 'partition_key']);
  for (const c of t.columns) if (!columns.has(c.name)) added.push(`column chunks.${c.name}`);
  const indexes = new Set(list.indexes.map((ix) => ix.live));
  for (const ix of t.indexes) if (!indexes.has(ix.name)) added.push(`index ${ix.name}`);
  const constraints = new Set([
    ...indexes,
    ...list.foreignKeys.map((fk) => fk.name),
    ...list.checks.map((c) =>
      /^CONSTRAINT ("(?:[^"]|"")+"|\S+)/.exec(c)?.[1]?.replace(/^"|"$/g, ''),
    ),
    KEY_CHECK,
  ]);
  for (const c of t.constraints)
    if (!constraints.has(c.name)) added.push(`constraint ${c.name} ${c.definition}`);
  const triggers = new Set(list.triggers.map((tg) => tg.name));
  for (const tg of t.triggers) if (!triggers.has(tg.name)) added.push(`trigger ${tg.name}`);
  const partitions = new Set(list.partitions.map((p) => p.name));
  for (const p of t.partitions) {
    if (!partitions.has(p.name)) added.push(`partition ${p.name} ${p.bound}`);
    const own = p.indexes.filter((ix) => ix.parent === null).map((ix) => ix.name);
    for (const name of own) added.push(`index ${name} on partition ${p.name}`);
  }
  // Bound to the live table by OID (a function on its row type, ...): the swap back would fail.
  added.push(...(await boundObjectProblems(sql, schema)));
  return added;
}

/** Refuses `down` before it changes anything when something was added to chunks after `up`. */
export async function assertNothingAddedSinceUp(
  sql: Sql,
  schema: string,
  list: Layout,
): Promise<void> {
  const added = await addedSinceUp(sql, schema, list);
  if (added.length === 0) return;
  throw new PreconditionError(
    `down would lose what was added to ${schema}.chunks after up; nothing was changed:\n  - ${added.join('\n  - ')}`,
    'Drop these objects (and recreate them on the HASH table after down), or stay on the LIST table.',
  );
}

import { escapeLiteral } from 'pg';
import { readCatalog, type TableSnapshot } from '../../../catalog/snapshot.js';
import { PreconditionError } from '../../../errors.js';
import { forgetOriginalSql, readOriginal, saveOriginalSql } from '../../../migrate/adopt.js';
import { migrationClient } from '../../checkpoint/shape.js';
import {
  commonColumnSettings,
  hashLayout,
  type Layout,
  listLayout,
  partitionReplicaIdentity,
} from './layouts.js';
import type { Sql } from './sql.js';

/**
 * The original chunks table as the catalog describes it, read once by 0001 before anything
 * changes and saved in dbops.adopted (kind 'table', as JSON): every later step derives both
 * layouts from it (hashLayout: the original exactly; listLayout: the target), so `down` rebuilds
 * the original with its names, even after the HASH table is gone.
 */
const FAMILY = 'partition';
const KIND = 'table';
const NAME = 'chunks';

/** Triggers of dbops' own machinery, never part of the original. */
const OWN_TRIGGERS = /^chunks_copy_|^chunks_default_reroute$/;

export async function readChunks(sql: Sql, schema: string): Promise<TableSnapshot | undefined> {
  const catalog = await readCatalog(migrationClient(sql), schema, { tables: ['chunks'] });
  const t = catalog.tables.get('chunks');
  if (!t) return undefined;
  return { ...t, triggers: t.triggers.filter((tg) => !OWN_TRIGGERS.test(tg.name)) };
}

export function saveOriginalChunksSql(t: TableSnapshot): string {
  return saveOriginalSql(FAMILY, KIND, NAME, escapeLiteral(JSON.stringify(t)));
}

export const FORGET_ORIGINAL_CHUNKS = forgetOriginalSql(FAMILY, KIND, NAME);

export async function savedOriginal(sql: Sql): Promise<TableSnapshot | undefined> {
  const json = await readOriginal(sql, FAMILY, KIND, NAME);
  return json === undefined ? undefined : (JSON.parse(json) as TableSnapshot);
}

export interface Layouts {
  original: TableSnapshot;
  hash: Layout;
  list: Layout;
}

/**
 * Both layouts, from the saved original; before 0001 has saved one (a dry run, the preflight),
 * from the live table, which is then the original.
 */
export async function loadLayouts(sql: Sql, schema: string): Promise<Layouts> {
  const original = (await savedOriginal(sql)) ?? (await liveOriginal(sql, schema));
  return { original, hash: hashLayout(original), list: listLayout(original) };
}

async function liveOriginal(sql: Sql, schema: string): Promise<TableSnapshot> {
  const t = await readChunks(sql, schema);
  if (!t || t.partitionKey === null || !t.partitionKey.startsWith('HASH'))
    throw new PreconditionError(
      `dbops.adopted holds no saved original of ${schema}.chunks and chunks is not the HASH original`,
      'The move was started by an older dbops or its record was removed: restore chunks from a backup, or move it back by hand.',
    );
  return t;
}

/**
 * Why the original cannot be moved and restored exactly: one line per reason (empty: it can).
 * Everything else the catalog shows is carried (see layouts.ts and the swap's dependents).
 */
export function originalProblems(t: TableSnapshot): string[] {
  const where = `${t.schema}.chunks`;
  const problems: string[] = [];
  if (t.kind !== 'p' || !t.partitionKey?.startsWith('HASH'))
    problems.push(
      `${where} is ${t.partitionKey ? `partitioned ${t.partitionKey}` : 'not partitioned'}; the family moves a HASH-partitioned chunks`,
    );
  else if (t.partitionKey !== 'HASH (collection_id)')
    problems.push(
      `${where} is partitioned ${t.partitionKey}; the family moves HASH (collection_id) only (the copy and catch-up find rows by collection_id)`,
    );
  const pk = t.constraints.find((c) => c.type === 'p');
  if (pk?.columns.join(',') !== 'id,collection_id')
    problems.push(
      `${where} has ${pk ? `primary key ${pk.name} ${pk.definition}` : 'no primary key'}; the family needs PRIMARY KEY (id, collection_id) (the catch-up finds changed rows by it)`,
    );
  // Unique keys need no check: on a HASH (collection_id) table PostgreSQL already requires each
  // to contain collection_id, so with partition_key added it is exactly as unique on LIST.
  for (const c of t.constraints.filter((c) => c.type === 'x'))
    problems.push(`exclusion constraint ${c.name} on ${where} cannot be carried to a LIST table`);
  for (const c of t.constraints.filter((c) => (c.type === 'c' || c.type === 'f') && !c.validated))
    problems.push(
      `constraint ${c.name} on ${where} is NOT VALID: the copy would validate it (and down could not restore it unvalidated); ALTER TABLE ${where} VALIDATE CONSTRAINT ${c.name} first`,
    );
  for (const ix of t.indexes.filter((ix) => !ix.valid))
    problems.push(`index ${ix.name} on ${where} is INVALID: rebuild or drop it first`);
  for (const c of t.columns) {
    if (c.identity || c.generated)
      problems.push(
        `column ${where}.${c.name} is ${c.identity ? 'an identity' : 'a generated'} column: not carried yet`,
      );
    else if (c.ownedSequence)
      problems.push(
        `column ${where}.${c.name} owns sequence ${c.ownedSequence} (serial): dropping the old table would drop it; ALTER SEQUENCE ${c.ownedSequence} OWNED BY NONE first`,
      );
  }
  if (t.persistence !== 'p') problems.push(`${where} is UNLOGGED: not carried`);
  if (t.rowSecurity) problems.push(`${where} has row level security: policies are not carried`);
  for (const fk of t.foreignKeysIn)
    problems.push(
      `foreign key ${fk.table}.${fk.name} references ${where} (${fk.definition}): on the LIST table no unique key without partition_key exists for it to reference`,
    );
  for (const p of t.partitions) {
    if (p.kind !== 'r')
      problems.push(
        `partition ${t.schema}.${p.name} is itself partitioned or foreign: not carried`,
      );
    if (p.triggers.length > 0)
      problems.push(
        `partition ${t.schema}.${p.name} has triggers of its own (${p.triggers.join(', ')}): not carried`,
      );
    const own = p.indexes.filter((ix) => ix.parent === null).map((ix) => ix.name);
    if (own.length > 0)
      problems.push(
        `partition ${t.schema}.${p.name} has indexes of its own (${own.join(', ')}): create them on chunks instead, or drop them`,
      );
    for (const ix of t.indexes) {
      if (!p.indexes.some((x) => x.parent === ix.name))
        problems.push(`partition ${t.schema}.${p.name} has no index attached to ${ix.name}`);
    }
  }
  problems.push(...replicationProblems(t));
  const options = new Set(t.partitions.map((p) => p.options.join(', ')));
  if (options.size > 1)
    problems.push(
      `the partitions of ${where} have different storage options (${[...options].map((o) => o || 'none').join(' / ')}): make them equal first`,
    );
  return problems;
}

/**
 * What of the column settings, replica identities and publications the LIST table could not
 * carry: each LIST partition gets the settings and replica identity all original partitions
 * share, a USING INDEX identity needs its index carried as a unique one, and publications move
 * with the parent (a partition listed by itself would stay on the old one).
 */
function replicationProblems(t: TableSnapshot): string[] {
  const where = `${t.schema}.chunks`;
  const problems: string[] = [];
  const first = JSON.stringify(t.partitions[0]?.columns ?? []);
  const settings = (p: TableSnapshot['partitions'][number]) =>
    (p.columns ?? []).map((c) => c.name).join(', ') || 'none';
  if (
    t.partitions.length > 0 &&
    commonColumnSettings(t).length === 0 &&
    t.partitions.some((p) => JSON.stringify(p.columns ?? []) !== first)
  )
    problems.push(
      `the partitions of ${where} have different column settings (statistics targets, storage, attribute options or column grants on: ${[...new Set(t.partitions.map(settings))].join(' / ')}): the LIST partitions can only get one set; make them equal first (ALTER TABLE ${where} ALTER COLUMN ... sets every partition)`,
    );
  const indexes = listLayout(t).indexes;
  if (
    t.replicaIdentity === 'i' &&
    !indexes.some((ix) => ix.live === t.replicaIndex && (ix.constraint || ix.unique))
  )
    problems.push(
      `${where} has REPLICA IDENTITY USING INDEX ${t.replicaIndex}, which the LIST table does not carry as a unique index: ALTER TABLE ${where} REPLICA IDENTITY FULL (or DEFAULT, with a primary key) first`,
    );
  if (!partitionReplicaIdentity(t, indexes))
    problems.push(
      `the partitions of ${where} have different replica identities, or one USING an index the LIST table does not carry (${[...new Set(t.partitions.map((p) => `${p.replicaIdentity ?? 'd'}${p.replicaIndex ? ` ${p.replicaIndex}` : ''}`))].join(' / ')}): the LIST partitions can only get one; make them equal first (ALTER TABLE <partition> REPLICA IDENTITY ...)`,
    );
  for (const p of t.partitions)
    if ((p.publications ?? []).length > 0)
      problems.push(
        `partition ${t.schema}.${p.name} is listed by itself in publication ${p.publications!.join(', ')}: it would stay on the old table; list ${where} instead (ALTER PUBLICATION ... DROP TABLE ${p.name}, ADD TABLE chunks), or drop it from the publication`,
      );
  return problems;
}

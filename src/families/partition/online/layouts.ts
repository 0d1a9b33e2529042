import {
  type ColumnSettings,
  columnGrantSql,
  type PublicationMembership,
  type TableSnapshot,
  type TriggerInfo,
} from '../../../catalog/snapshot.js';
import { quoteIdent, quoteLiteral } from '../../../db/ident.js';
import { addKeyColumn, indexBody, seedIndexes, seedSuffix } from './indexNames.js';
import {
  DEFAULT_PARTITION,
  KEY_CHECK_DEFINITION,
  KEY_COLUMN_DEFINITION,
  KEY_FUNCTION,
  REROUTE_TRIGGER_SQL,
} from './key.js';

/**
 * The two shapes of Semantik's chunks table that the partition family moves rows between, both
 * derived from the catalog snapshot of the original HASH table (saved by 0001, see original.ts):
 * - hashLayout: the original exactly (its partitions, column definitions, constraint and index
 *   names, per-partition index names, owner, grants), which `down` rebuilds;
 * - listLayout: the 100-LIST target carrying the same columns, keys (extended with
 *   partition_key), foreign keys, CHECKs and indexes.
 * Each shape is either *live* (named chunks, what the application uses) or *staging* (being filled
 * next to the live one, under another name). Partition names never change; the parent table and
 * its parent-level indexes are renamed by the swap, so both shapes can exist at once.
 */
export type LayoutKind = 'hash' | 'list';

export const LIVE_TABLE = 'chunks';

/** One column carried by both layouts (partition_key is the layouts' own, see keyColumn). */
export interface ColumnSpec {
  name: string;
  type: string;
  /** Column definition without the name: `integer NOT NULL DEFAULT 0`. */
  definition: string;
  comment: string | null;
  /** Statistics target, storage, attribute options, column grants (see ColumnSettings). */
  settings: ColumnSettings;
}

/** A parent-level index (or PRIMARY KEY / UNIQUE constraint) and its per-partition indexes. */
export interface IndexSpec {
  /** Name while the table is live (chunks). */
  live: string;
  /** Name while the table is the staging copy. */
  staging: string;
  /** Name of the index on one partition. */
  onPartition(partition: string): string;
  /** `PRIMARY KEY (a, b)` / `UNIQUE (a, b)` for a constraint-backed index. */
  constraint?: string;
  /** Otherwise the index: `USING btree (a) WHERE ...`, and whether it is UNIQUE. */
  body?: string;
  unique?: boolean;
  /** COMMENT ON INDEX of the parent index, carried with it. */
  comment?: string | null;
}

export interface ForeignKeySpec {
  name: string;
  /** Its name on one partition (the original's: renaming the parent's does not rename these). */
  onPartition(partition: string): string;
  definition: string;
  /** The referenced table (qualified). */
  references: string;
}

export interface PartitionSpec {
  name: string;
  bound: string;
  options: string[];
  owner: string | null;
  grants: string[];
  /** Columns with settings of their own (statistics, storage, options, grants). */
  columns: ColumnSettings[];
  /** d / f / n, or i with replicaIndex: the name of its index attached to that parent index. */
  replicaIdentity: string;
  replicaIndex: string | null;
}

export interface Layout {
  kind: LayoutKind;
  /** The parent table's name while it is the staging copy. */
  staging: string;
  partitionBy: string;
  partitions: PartitionSpec[];
  /** The original's columns, in order (both layouts). */
  columns: ColumnSpec[];
  /** The partition_key column: nullable int on HASH (writers may set it early), int NOT NULL on LIST. */
  keyColumn: string;
  /** Table constraints of CREATE TABLE: `CONSTRAINT name CHECK (...)`. */
  checks: string[];
  indexes: IndexSpec[];
  foreignKeys: ForeignKeySpec[];
  owner: string | null;
  grants: string[];
  comment: string | null;
  /** The original's triggers (definitions `ON <schema>.chunks`); created by triggersSql. */
  triggers: TriggerInfo[];
  /** The parent's replica identity: d / f / n, or i with replicaIndex (set once indexes are built). */
  replicaIdentity: string;
  replicaIndex: IndexSpec | null;
  /** Value of partition_key when a row of the other layout (alias s) is copied into this one. */
  keyFrom: string;
  /** Predicate pinning a row `alias` of this layout to the key pair `k` (with partition pruning). */
  keyMatch(alias: string, k: string): string;
  /** Plan lines: what is carried how (extended keys, indexes replaced or added). */
  notes: string[];
}

export const columnNames = (layout: Layout) => layout.columns.map((c) => c.name);

/**
 * Lock-order rules for steps that lock chunks tables and the tables chunks references. The
 * application takes them in two orders: deletes lock collections, then documents, then chunks
 * (ON DELETE CASCADE), while inserts and updates of chunks lock chunks and then take ROW SHARE on
 * the referenced tables (their foreign key checks). So dbops takes SHARE ROW EXCLUSIVE on the
 * referenced tables first (it blocks the deletes, in their order, and not the checks) and only
 * then locks chunks; and it never holds chunks while waiting for ACCESS EXCLUSIVE on a referenced
 * table (which the checks would block, a deadlock): dropping a foreign key, which needs that, is
 * done in a transaction of its own. Adding a foreign key needs SHARE ROW EXCLUSIVE on the
 * referenced table. Each is held for a millisecond transaction.
 */
export function lockReferencedSql(
  layout: Layout,
  mode: 'SHARE ROW EXCLUSIVE' | 'ACCESS EXCLUSIVE',
): string {
  const others = [...new Set(layout.foreignKeys.map((fk) => fk.references))].filter(
    (t) => !/(^|\.)(collections|documents)$/.test(t),
  );
  return `LOCK TABLE collections, documents${others.map((t) => `, ${t}`).join('')} IN ${mode} MODE`;
}

const pad2 = (i: number) => String(i).padStart(2, '0');

/** PostgreSQL's identifier limit: longer names would be truncated (and might collide). */
const MAX_NAME = 63;

function fitName(name: string): string {
  if (name.length <= MAX_NAME) return name;
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `${name.slice(0, MAX_NAME - 9)}_${h.toString(16).padStart(8, '0')}`;
}

/** Live name -> staging name: `chunks_x`/`ix_chunks_x` -> `chunks_<kind>_x`, anything else `<kind>_name`. */
export function stagingName(live: string, kind: LayoutKind): string {
  return fitName(
    /^(ix_)?chunks_/.test(live)
      ? live.replace(/^(ix_)?chunks_/, `$1chunks_${kind}_`)
      : `${kind}_${live}`,
  );
}

function columnSpecs(t: TableSnapshot): ColumnSpec[] {
  return t.columns
    .filter((c) => c.name !== 'partition_key')
    .map((c) => ({
      name: c.name,
      type: c.type,
      definition: `${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''}${c.notNull ? ' NOT NULL' : ''}${c.default !== null ? ` DEFAULT ${c.default}` : ''}`,
      comment: c.comment,
      settings: c,
    }));
}

function foreignKeys(t: TableSnapshot): ForeignKeySpec[] {
  return t.constraints
    .filter((c) => c.type === 'f')
    .map((c) => ({
      name: c.name,
      onPartition: (partition: string) =>
        t.partitions
          .find((p) => p.name === partition)
          ?.foreignKeys?.find((fk) => fk.parent === c.name)?.name ?? c.name,
      definition: c.definition.replace(/ NOT VALID$/, ''),
      references: c.references ?? '',
    }));
}

function checks(t: TableSnapshot): string[] {
  return t.constraints
    .filter((c) => c.type === 'c')
    .map((c) => `CONSTRAINT ${quoteIdent(c.name)} ${c.definition.replace(/ NOT VALID$/, '')}`);
}

const constraintOf = (t: TableSnapshot, name: string | null) =>
  t.constraints.find((c) => c.name === name);

/** Name of the index attached to parent index `parent` on partition `p` of the original. */
function partitionIndexName(t: TableSnapshot, partition: string, parent: string): string {
  const p = t.partitions.find((x) => x.name === partition);
  const found = p?.indexes.find((ix) => ix.parent === parent)?.name;
  if (!found) throw new Error(`${partition} has no index attached to ${parent}`);
  return found;
}

const keyMatch = (a: string, k: string) =>
  `${a}.id = ${k}.id AND ${a}.collection_id = ${k}.collection_id`;

/** The original HASH table, exactly as the catalog snapshot describes it (names included). */
export function hashLayout(t: TableSnapshot): Layout {
  const indexes = t.indexes.map((ix): IndexSpec => {
    const con = constraintOf(t, ix.constraint);
    const base = {
      live: ix.name,
      staging: stagingName(ix.name, 'hash'),
      comment: ix.comment ?? null,
      onPartition: (p: string) => partitionIndexName(t, p, ix.name),
    };
    return con
      ? { ...base, constraint: con.definition }
      : { ...base, body: indexBody(ix.definition), unique: ix.unique };
  });
  return {
    kind: 'hash',
    staging: 'chunks_hash',
    partitionBy: t.partitionKey ?? 'HASH (collection_id)',
    partitions: t.partitions.map((p) => ({
      name: p.name,
      bound: p.bound,
      options: p.options,
      owner: p.owner,
      grants: p.grants,
      columns: p.columns ?? [],
      replicaIdentity: p.replicaIdentity ?? 'd',
      replicaIndex: p.replicaIndex ?? null,
    })),
    columns: columnSpecs(t),
    keyColumn: 'partition_key integer',
    checks: checks(t),
    indexes,
    foreignKeys: foreignKeys(t),
    owner: t.owner,
    grants: t.grants,
    comment: t.comment,
    triggers: t.triggers,
    replicaIdentity: t.replicaIdentity ?? 'd',
    replicaIndex: indexes.find((ix) => ix.live === t.replicaIndex) ?? null,
    keyFrom: 's.partition_key',
    keyMatch,
    notes: [],
  };
}

/**
 * The target: LIST (partition_key) into chunks_part_00..chunks_part_99 and a DEFAULT partition
 * (rows of writers that leave partition_key out land there and are moved at once: see key.ts).
 * A unique constraint or index on a partitioned table must contain the partition key, so each
 * one gets partition_key appended; because the CHECK pins partition_key to
 * chunk_partition_key(collection_id), a function of collection_id, they enforce exactly the
 * uniqueness the HASH table had (every one of them contains collection_id: the preflight
 * checks). Every other index is carried with its name and definition; on each partition it gets
 * the seed's name (idx_chunks_part_NN_created, ...) when it is one of the seed's four indexes,
 * else the original partition index's name with the partition's name in front. A plain btree
 * index whose columns lead a unique one is not carried (the unique one serves its queries), and
 * the seed's (collection_id) index is added when missing, as Semantik's own migration does.
 */
export function listLayout(t: TableSnapshot): Layout {
  const notes: string[] = [];
  const firstHash = t.partitions[0]?.name ?? 'chunks_p0';
  const derived = (parent: string) => {
    const original = t.partitions[0]?.indexes.find((ix) => ix.parent === parent)?.name ?? parent;
    const suffix = original.startsWith(`${firstHash}_`)
      ? original.slice(firstHash.length + 1)
      : original;
    return (p: string) => fitName(`${p}_${suffix}`);
  };
  const seedsNamed = new Set<string>();
  const named = (parent: string, body: string) => {
    const seed = seedSuffix(body);
    if (!seed || seedsNamed.has(seed)) return derived(parent);
    seedsNamed.add(seed);
    return (p: string) => `idx_${p}_${seed}`;
  };
  const unique: IndexSpec[] = [];
  const plain: IndexSpec[] = [];
  for (const ix of t.indexes) {
    const con = constraintOf(t, ix.constraint);
    const base = {
      live: ix.name,
      staging: stagingName(ix.name, 'list'),
      comment: ix.comment ?? null,
    };
    if (con) {
      const extended = addKeyColumn(con.definition);
      if (extended !== con.definition)
        notes.push(
          `${con.name}: ${con.definition} becomes ${extended} (PostgreSQL requires the partition key in every unique constraint; the CHECK on partition_key keeps the uniqueness the same)`,
        );
      unique.push({ ...base, onPartition: derived(ix.name), constraint: extended });
    } else if (ix.unique) {
      const body = indexBody(ix.definition);
      const extended = addKeyColumn(body);
      notes.push(
        `unique index ${ix.name} ${body} becomes ${extended}, still a unique index (partition key added, as PostgreSQL requires)`,
      );
      unique.push({ ...base, onPartition: derived(ix.name), body: extended, unique: true });
    } else {
      const body = indexBody(ix.definition);
      plain.push({ ...base, onPartition: named(ix.name, body), body });
    }
  }
  const uniqueColumns = unique.map((u) => keyColumnsOf(u.constraint ?? u.body ?? ''));
  const kept = plain.filter((ix) => {
    const cols = seedSuffix(ix.body ?? '') ? null : plainBtreeColumns(ix.body ?? '');
    const leads =
      cols && uniqueColumns.find((u) => u && startsWith(u, cols) && u.length > cols.length);
    if (leads) {
      notes.push(
        `index ${ix.live} ${ix.body} is not carried: the unique key (${leads.join(', ')}) leads with the same columns (down restores it)`,
      );
      return false;
    }
    return true;
  });
  const taken = new Set([...t.indexes.map((ix) => ix.name), ...t.constraints.map((c) => c.name)]);
  const usedSeeds = new Set(kept.map((ix) => seedSuffix(ix.body ?? '')).filter(Boolean));
  for (const seed of seedIndexes) {
    if (usedSeeds.has(seed.suffix) || taken.has(seed.parent)) continue;
    notes.push(
      `index ${seed.parent} ${seed.body} is added (idx_chunks_part_NN_${seed.suffix} on each partition, as Semantik's 100-partition migration creates)`,
    );
    kept.push({
      live: seed.parent,
      staging: stagingName(seed.parent, 'list'),
      onPartition: (p) => `idx_${p}_${seed.suffix}`,
      body: seed.body,
    });
  }
  const indexes = [...unique, ...kept];
  const replica = partitionReplicaIdentity(t, indexes);
  const carried = (name: string) => ({
    owner: t.owner,
    grants: [],
    columns: commonColumnSettings(t),
    replicaIdentity: replica?.kind ?? 'd',
    replicaIndex: replica?.index?.onPartition(name) ?? null,
  });
  const partitions: PartitionSpec[] = Array.from({ length: 100 }, (_, i) => ({
    name: `chunks_part_${pad2(i)}`,
    bound: `FOR VALUES IN (${i})`,
    options: commonOptions(t),
    ...carried(`chunks_part_${pad2(i)}`),
  }));
  partitions.push({
    name: DEFAULT_PARTITION,
    bound: 'DEFAULT',
    options: [],
    ...carried(DEFAULT_PARTITION),
  });
  const replicaIndex = replicaIndexOf(t.replicaIndex, indexes);
  if (t.replicaIdentity === 'i' && replicaIndex)
    notes.push(
      `replica identity USING INDEX ${replicaIndex.live}: carried (set on ${replicaIndex.live} ${replicaIndex.constraint ?? replicaIndex.body} once it is built)`,
    );
  return {
    kind: 'list',
    staging: 'chunks_list',
    partitionBy: 'LIST (partition_key)',
    partitions,
    columns: columnSpecs(t),
    keyColumn: KEY_COLUMN_DEFINITION,
    checks: [...checks(t), KEY_CHECK_DEFINITION],
    indexes,
    foreignKeys: foreignKeys(t),
    owner: t.owner,
    grants: t.grants,
    comment: t.comment,
    triggers: t.triggers,
    replicaIdentity: t.replicaIdentity ?? 'd',
    replicaIndex,
    keyFrom: `${KEY_FUNCTION}(s.collection_id)`,
    keyMatch: (a, k) =>
      `${a}.id = ${k}.id AND ${a}.collection_id = ${k}.collection_id AND ${a}.partition_key = ${KEY_FUNCTION}(${k}.collection_id)`,
    notes,
  };
}

/** Storage options every original partition has (the same on each): given to each LIST partition. */
function commonOptions(t: TableSnapshot): string[] {
  const first = t.partitions[0]?.options ?? [];
  return t.partitions.every((p) => p.options.join(',') === first.join(',')) ? first : [];
}

/** The LIST counterpart of a replica identity index: the same unique index or key (partition_key added). */
function replicaIndexOf(name: string | null | undefined, indexes: IndexSpec[]): IndexSpec | null {
  return indexes.find((ix) => ix.live === name && (ix.constraint || ix.unique)) ?? null;
}

/**
 * Column settings every original partition has (the same on each): given to each LIST partition
 * (a recursive ALTER TABLE chunks ALTER COLUMN ... SET STATISTICS / STORAGE gives every partition
 * the parent's). Partitions that differ are refused by the preflight (originalProblems).
 */
export function commonColumnSettings(t: TableSnapshot): ColumnSettings[] {
  const first = JSON.stringify(t.partitions[0]?.columns ?? []);
  return t.partitions.every((p) => JSON.stringify(p.columns ?? []) === first)
    ? (t.partitions[0]?.columns ?? [])
    : [];
}

/**
 * The replica identity every original partition has (REPLICA IDENTITY does not recurse, so a
 * partition's is its own): d / f / n, or USING the index attached to one parent index that the
 * LIST table carries as unique. Undefined when the partitions differ or the index has no
 * counterpart (the preflight refuses then).
 */
export function partitionReplicaIdentity(
  t: TableSnapshot,
  indexes: IndexSpec[],
): { kind: string; index: IndexSpec | null } | undefined {
  const parentIndex = (p: TableSnapshot['partitions'][number]) =>
    p.indexes.find((ix) => ix.name === p.replicaIndex)?.parent ?? null;
  const kinds = new Set(
    t.partitions.map(
      (p) => `${p.replicaIdentity ?? 'd'}${p.replicaIdentity === 'i' ? ` ${parentIndex(p)}` : ''}`,
    ),
  );
  if (kinds.size > 1) return undefined;
  const first = t.partitions[0];
  if (!first || (first.replicaIdentity ?? 'd') !== 'i')
    return { kind: first?.replicaIdentity ?? 'd', index: null };
  const index = replicaIndexOf(parentIndex(first), indexes);
  return index ? { kind: 'i', index } : undefined;
}

function startsWith(list: string[], prefix: string[]): boolean {
  return prefix.every((c, i) => list[i] === c);
}

/** Key columns of `PRIMARY KEY (a, b)` / `USING btree (a, b)` when all are plain names. */
function keyColumnsOf(def: string): string[] | null {
  const m = /\(([^()]*)\)/.exec(def);
  if (!m) return null;
  const cols = m[1]!.split(',').map((c) => c.trim());
  return cols.every((c) => /^[a-z_][a-z0-9_]*$/.test(c)) ? cols : null;
}

/** Columns of a plain `USING btree (a, b)` index (no expression, INCLUDE, WHERE, opclass). */
function plainBtreeColumns(body: string): string[] | null {
  return /^USING btree \([a-z0-9_, ]+\)$/.test(body) ? keyColumnsOf(body) : null;
}

/**
 * CREATE TABLE for the staging copy of `layout` and its partitions, without indexes or foreign
 * keys (rows are copied first and indexes built after: PERF-NOTES' fastest shape), with the
 * original's column comments, owner, grants and partition storage options.
 */
export function createStagingSql(layout: Layout): string {
  const columns = [
    ...layout.columns.map((c) => `  ${quoteIdent(c.name)} ${c.definition}`),
    `  ${layout.keyColumn}`,
    ...layout.checks.map((c) => `  ${c}`),
  ].join(',\n');
  const statements = [
    `CREATE TABLE ${layout.staging} (\n${columns}\n) PARTITION BY ${layout.partitionBy}`,
  ];
  for (const p of layout.partitions) {
    const options = p.options.length > 0 ? ` WITH (${p.options.join(', ')})` : '';
    statements.push(
      `CREATE TABLE ${quoteIdent(p.name)} PARTITION OF ${layout.staging} ${p.bound}${options}`,
    );
    if (p.owner)
      statements.push(`ALTER TABLE ${quoteIdent(p.name)} OWNER TO ${quoteIdent(p.owner)}`);
    for (const g of p.grants) statements.push(grantOn(quoteIdent(p.name), g));
  }
  if (layout.owner)
    statements.push(`ALTER TABLE ${layout.staging} OWNER TO ${quoteIdent(layout.owner)}`);
  for (const g of layout.grants) statements.push(grantOn(layout.staging, g));
  if (layout.comment !== null)
    statements.push(`COMMENT ON TABLE ${layout.staging} IS ${quoteLiteral(layout.comment)}`);
  for (const c of layout.columns) {
    if (c.comment !== null)
      statements.push(
        `COMMENT ON COLUMN ${layout.staging}.${quoteIdent(c.name)} IS ${quoteLiteral(c.comment)}`,
      );
  }
  // Column settings: the parent's with ONLY (SET STATISTICS / STORAGE would recurse), then each
  // partition's own, so each relation gets exactly its snapshot's; replica identity (it never
  // recurses) unless USING INDEX, which waits for the indexes (replicaIndexSql).
  const settings = [
    {
      relation: `ONLY ${layout.staging}`,
      grantOn: layout.staging,
      columns: layout.columns.map((c) => c.settings),
      replica: layout.replicaIdentity,
    },
    ...layout.partitions.map((p) => ({
      relation: quoteIdent(p.name),
      grantOn: quoteIdent(p.name),
      columns: p.columns,
      replica: p.replicaIdentity,
    })),
  ];
  for (const r of settings) {
    statements.push(...columnSettingsSql(r.relation, r.grantOn, r.columns));
    if (r.replica !== 'd' && r.replica !== 'i')
      statements.push(`ALTER TABLE ${r.relation} REPLICA IDENTITY ${REPLICA_KEYWORD[r.replica]}`);
  }
  if (layout.partitions.some((p) => p.name === DEFAULT_PARTITION))
    statements.push(REROUTE_TRIGGER_SQL);
  return `${statements.join(';\n')};`;
}

const REPLICA_KEYWORD: Record<string, string> = { f: 'FULL', n: 'NOTHING', d: 'DEFAULT' };
const STORAGE_KEYWORD: Record<string, string> = {
  p: 'PLAIN',
  e: 'EXTERNAL',
  m: 'MAIN',
  x: 'EXTENDED',
};

/** ALTER TABLE (one, for all columns) and column GRANTs giving `relation` the columns' settings. */
function columnSettingsSql(
  relation: string,
  grantTarget: string,
  columns: ColumnSettings[],
): string[] {
  const alters = columns.flatMap((c) => {
    const col = `ALTER COLUMN ${quoteIdent(c.name)}`;
    return [
      ...(c.statistics != null ? [`${col} SET STATISTICS ${c.statistics}`] : []),
      ...(c.storage ? [`${col} SET STORAGE ${STORAGE_KEYWORD[c.storage] ?? c.storage}`] : []),
      ...(c.attributeOptions?.length ? [`${col} SET (${c.attributeOptions.join(', ')})`] : []),
    ];
  });
  return [
    ...(alters.length > 0 ? [`ALTER TABLE ${relation} ${alters.join(', ')}`] : []),
    ...columns.flatMap((c) => (c.grants ?? []).map((g) => columnGrantSql(grantTarget, c.name, g))),
  ];
}

/**
 * REPLICA IDENTITY USING INDEX for the staging table and its partitions, once their indexes are
 * built (completeStaging); the index keeps it through the swap's renames.
 */
export function replicaIndexSql(layout: Layout): string[] {
  return [
    ...(layout.replicaIdentity === 'i' && layout.replicaIndex
      ? [
          `ALTER TABLE ${layout.staging} REPLICA IDENTITY USING INDEX ${quoteIdent(layout.replicaIndex.staging)}`,
        ]
      : []),
    ...layout.partitions
      .filter((p) => p.replicaIdentity === 'i' && p.replicaIndex)
      .map(
        (p) =>
          `ALTER TABLE ${quoteIdent(p.name)} REPLICA IDENTITY USING INDEX ${quoteIdent(p.replicaIndex!)}`,
      ),
  ];
}

/**
 * Moves the publications listing the live table (read under the swap's lock) to the new one, in
 * the swap transaction after the renames: each drops the old table (now `retired`) and adds
 * chunks with the same row filter and column list, so the name chunks is published throughout
 * and the staging copy never was.
 */
export function publicationsMoveSql(
  publications: PublicationMembership[],
  retired: string,
): string[] {
  return publications.flatMap((p) => [
    `ALTER PUBLICATION ${quoteIdent(p.name)} DROP TABLE ${quoteIdent(retired)}`,
    `ALTER PUBLICATION ${quoteIdent(p.name)} ADD TABLE ${LIVE_TABLE}${p.columns ? ` (${p.columns.map(quoteIdent).join(', ')})` : ''}${p.filter ? ` WHERE (${p.filter})` : ''}`,
  ]);
}

const TRIGGER_STATE: Record<string, string> = {
  D: 'DISABLE',
  R: 'ENABLE REPLICA',
  A: 'ENABLE ALWAYS',
};

/**
 * The original's triggers on the new live table, in the swap transaction after the renames (so
 * none fires on the copy or the catch-up, which write the staging table before it has them):
 * created on chunks (PostgreSQL clones row triggers onto every partition), then put in the
 * original's state (disabled, ENABLE REPLICA / ALWAYS; recursing to the partitions). On a LIST
 * table each AFTER row trigger is then disabled on the DEFAULT partition: a row of a writer that
 * leaves partition_key out only passes through it (the reroute trigger deletes it there and
 * inserts it again into its chunks_part_NN in the same statement), so the application's AFTER
 * row triggers (audit rows, notifications) fire once per write, on the partition the row ends in
 * and with its key, not a second time for its moment in chunks_default. BEFORE row triggers stay
 * enabled there: they shape the row the writer's RETURNING shows, and run again, on that row, when
 * it is inserted into its partition (a trigger that fills a column in sets it to the same value).
 */
export function triggersSql(layout: Layout): string[] {
  const onDefault = layout.partitions.some((p) => p.name === DEFAULT_PARTITION);
  return layout.triggers.flatMap((tg) => [
    tg.definition,
    ...(TRIGGER_STATE[tg.enabled]
      ? [`ALTER TABLE ${LIVE_TABLE} ${TRIGGER_STATE[tg.enabled]} TRIGGER ${quoteIdent(tg.name)}`]
      : []),
    ...(onDefault && tg.level === 'ROW' && tg.timing === 'AFTER'
      ? [`ALTER TABLE ${DEFAULT_PARTITION} DISABLE TRIGGER ${quoteIdent(tg.name)}`]
      : []),
  ]);
}

function grantOn(relation: string, grant: string): string {
  const at = grant.indexOf(' TO ');
  return `GRANT ${grant.slice(0, at)} ON ${relation}${grant.slice(at)}`;
}

/** The column list both layouts share, for INSERT ... SELECT between them. */
export function copyColumns(layout: Layout, alias: string): string {
  return layout.columns.map((c) => `${alias}.${quoteIdent(c.name)}`).join(', ');
}

/** The shared column names, quoted, for an INSERT column list. */
export function insertColumns(layout: Layout): string {
  return layout.columns.map((c) => quoteIdent(c.name)).join(', ');
}

/** Renames the parent table and its parent-level indexes between their live and staging names. */
export function renameSql(layout: Layout, to: 'live' | 'staging'): string[] {
  const from = to === 'live' ? 'staging' : 'live';
  const table = { live: LIVE_TABLE, staging: layout.staging };
  return [
    `ALTER TABLE ${quoteIdent(table[from])} RENAME TO ${quoteIdent(table[to])}`,
    ...layout.indexes.map(
      (ix) => `ALTER INDEX ${quoteIdent(ix[from])} RENAME TO ${quoteIdent(ix[to])}`,
    ),
  ];
}

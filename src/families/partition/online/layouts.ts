import { quoteIdent } from '../../../db/ident.js';
import { KEY_CHECK_DEFINITION, KEY_COLUMN_DEFINITION, KEY_FUNCTION } from './key.js';

/**
 * The two shapes of Semantik's chunks table that the partition family moves rows between. Each
 * shape is either *live* (named chunks, what the application uses) or *staging* (being filled
 * next to the live one, under another name). Partition names never change; the parent table and
 * its parent-level indexes are renamed by the swap, so both shapes can exist at once.
 */
export type LayoutKind = 'hash' | 'list';

export const LIVE_TABLE = 'chunks';

/** The columns every chunk has, in table order, with their definitions (UPSTREAM.md section 1). */
export const BASE_COLUMNS: [name: string, definition: string][] = [
  ['id', 'varchar NOT NULL'],
  ['collection_id', 'varchar NOT NULL'],
  ['document_id', 'varchar NOT NULL'],
  ['chunking_config_id', 'integer'],
  ['chunk_index', 'integer NOT NULL'],
  ['content', 'text NOT NULL'],
  ['start_offset', 'integer'],
  ['end_offset', 'integer'],
  ['token_count', 'integer'],
  ['embedding_vector_id', 'varchar'],
  ['created_at', 'timestamptz NOT NULL DEFAULT now()'],
  ['meta', 'json'],
];
export const BASE_COLUMN_NAMES = BASE_COLUMNS.map(([name]) => name);

/** A parent-level index (or PRIMARY KEY / UNIQUE constraint) and its per-partition indexes. */
export interface IndexSpec {
  /** Name while the table is live (chunks). */
  live: string;
  /** Name while the table is the staging copy. */
  staging: string;
  /** Name of the index on one partition. */
  onPartition(partition: string): string;
  /** Column list, e.g. `(collection_id, chunk_index)`. */
  columns: string;
  where?: string;
  constraint?: 'PRIMARY KEY' | 'UNIQUE';
}

export interface ForeignKeySpec {
  name: string;
  definition: string;
  /** The referenced table. */
  references: string;
}

export interface Layout {
  kind: LayoutKind;
  /** The parent table's name while it is the staging copy. */
  staging: string;
  partitionBy: string;
  partitions: { name: string; bound: string }[];
  /** The partition_key column: nullable int on HASH (writers may set it early), int NOT NULL on LIST. */
  keyColumn: string;
  checks: string[];
  indexes: IndexSpec[];
  /** Value of partition_key when a row of the other layout (alias s) is copied into this one. */
  keyFrom: string;
  /** Predicate pinning a row `alias` of this layout to the key pair `k` (with partition pruning). */
  keyMatch(alias: string, k: string): string;
}

/**
 * Lock-order rules for steps that lock chunks tables and the tables chunks references. The
 * application takes them in two orders: deletes lock collections, then documents, then chunks
 * (ON DELETE CASCADE), while inserts and updates of chunks lock chunks and then take ROW SHARE on
 * collections and documents (their foreign key checks). So dbops takes SHARE ROW EXCLUSIVE on the
 * referenced tables first (it blocks the deletes, in their order, and not the checks) and only
 * then locks chunks; and it never holds chunks while waiting for ACCESS EXCLUSIVE on a referenced
 * table (which the checks would block, a deadlock): dropping a foreign key, which needs that, is
 * done in a transaction of its own. Adding a foreign key needs SHARE ROW EXCLUSIVE on the
 * referenced table. Each is held for a millisecond transaction.
 */
export const LOCK_REFERENCED_SQL = 'LOCK TABLE collections, documents IN SHARE ROW EXCLUSIVE MODE';
export const LOCK_REFERENCED_FOR_DROP_SQL =
  'LOCK TABLE collections, documents IN ACCESS EXCLUSIVE MODE';

export const FOREIGN_KEYS: ForeignKeySpec[] = [
  {
    name: 'chunks_collection_id_fkey',
    definition: 'FOREIGN KEY (collection_id) REFERENCES collections (id) ON DELETE CASCADE',
    references: 'collections',
  },
  {
    name: 'chunks_document_id_fkey',
    definition: 'FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE',
    references: 'documents',
  },
];

const pad2 = (i: number) => String(i).padStart(2, '0');

/** Live name `chunks_x` or `ix_chunks_x` -> staging name with `chunks_<kind>_x`. */
function stagingName(live: string, kind: LayoutKind): string {
  return live.replace(/^(ix_)?chunks_/, `$1chunks_${kind}_`);
}

function index(
  kind: LayoutKind,
  live: string,
  columns: string,
  onPartition: (p: string) => string,
  extra: Pick<IndexSpec, 'where' | 'constraint'> = {},
): IndexSpec {
  return { live, staging: stagingName(live, kind), columns, onPartition, ...extra };
}

/**
 * Semantik's original layout: HASH (collection_id) into chunks_p0..chunks_p15, with exactly the
 * names PostgreSQL gave the original's constraints and indexes, so that `down` rebuilds an
 * identical catalog.
 */
export const HASH_LAYOUT: Layout = {
  kind: 'hash',
  staging: 'chunks_hash',
  partitionBy: 'HASH (collection_id)',
  partitions: Array.from({ length: 16 }, (_, i) => ({
    name: `chunks_p${i}`,
    bound: `FOR VALUES WITH (MODULUS 16, REMAINDER ${i})`,
  })),
  keyColumn: 'partition_key integer',
  checks: [],
  indexes: [
    index('hash', 'chunks_pkey', '(id, collection_id)', (p) => `${p}_pkey`, {
      constraint: 'PRIMARY KEY',
    }),
    index(
      'hash',
      'chunks_collection_id_document_id_chunk_index_key',
      '(collection_id, document_id, chunk_index)',
      (p) => `${p}_collection_id_document_id_chunk_index_key`,
      { constraint: 'UNIQUE' },
    ),
    index(
      'hash',
      'ix_chunks_collection_id_document_id',
      '(collection_id, document_id)',
      (p) => `${p}_collection_id_document_id_idx`,
    ),
    index('hash', 'ix_chunks_document_id', '(document_id)', (p) => `${p}_document_id_idx`),
    index(
      'hash',
      'ix_chunks_collection_id_chunk_index',
      '(collection_id, chunk_index)',
      (p) => `${p}_collection_id_chunk_index_idx`,
    ),
    index('hash', 'ix_chunks_created_at', '(created_at)', (p) => `${p}_created_at_idx`),
  ],
  keyFrom: 's.partition_key',
  keyMatch: (a, k) => `${a}.id = ${k}.id AND ${a}.collection_id = ${k}.collection_id`,
};

/**
 * The target: LIST (partition_key) into chunks_part_00..chunks_part_99. A unique constraint on a
 * partitioned table must contain the partition key, so the primary key is (id, collection_id,
 * partition_key) and the unique key (collection_id, document_id, chunk_index, partition_key).
 * Because the CHECK pins partition_key to chunk_partition_key(collection_id), a function of
 * collection_id, these enforce exactly the uniqueness of (id, collection_id) and of
 * (collection_id, document_id, chunk_index) that the HASH table had. The per-partition indexes are
 * the seed's (with its names); the HASH table's (collection_id, document_id) index is not kept:
 * the unique index leads with those two columns.
 */
export const LIST_LAYOUT: Layout = {
  kind: 'list',
  staging: 'chunks_list',
  partitionBy: 'LIST (partition_key)',
  partitions: Array.from({ length: 100 }, (_, i) => ({
    name: `chunks_part_${pad2(i)}`,
    bound: `FOR VALUES IN (${i})`,
  })),
  keyColumn: KEY_COLUMN_DEFINITION,
  checks: [KEY_CHECK_DEFINITION],
  indexes: [
    index('list', 'chunks_pkey', '(id, collection_id, partition_key)', (p) => `${p}_pkey`, {
      constraint: 'PRIMARY KEY',
    }),
    index(
      'list',
      'chunks_collection_id_document_id_chunk_index_key',
      '(collection_id, document_id, chunk_index, partition_key)',
      (p) => `${p}_collection_id_document_id_chunk_index_key`,
      { constraint: 'UNIQUE' },
    ),
    index('list', 'ix_chunks_collection_id', '(collection_id)', (p) => `idx_${p}_collection`),
    index('list', 'ix_chunks_created_at', '(created_at)', (p) => `idx_${p}_created`),
    index(
      'list',
      'ix_chunks_collection_id_chunk_index',
      '(collection_id, chunk_index)',
      (p) => `idx_${p}_chunk_index`,
    ),
    index('list', 'ix_chunks_document_id', '(document_id)', (p) => `idx_${p}_document`, {
      where: 'document_id IS NOT NULL',
    }),
  ],
  keyFrom: `${KEY_FUNCTION}(s.collection_id)`,
  keyMatch: (a, k) =>
    `${a}.id = ${k}.id AND ${a}.collection_id = ${k}.collection_id AND ${a}.partition_key = ${KEY_FUNCTION}(${k}.collection_id)`,
};

export function layoutOf(kind: LayoutKind): Layout {
  return kind === 'hash' ? HASH_LAYOUT : LIST_LAYOUT;
}

export function otherLayout(layout: Layout): Layout {
  return layout.kind === 'hash' ? LIST_LAYOUT : HASH_LAYOUT;
}

/**
 * CREATE TABLE for the staging copy of `layout` and its partitions, without indexes or foreign
 * keys (rows are copied first and indexes built after: PERF-NOTES' fastest shape).
 */
export function createStagingSql(layout: Layout): string {
  const columns = [
    ...BASE_COLUMNS.map(([name, def]) => `  ${name} ${def}`),
    `  ${layout.keyColumn}`,
    ...layout.checks.map((c) => `  ${c}`),
  ].join(',\n');
  const partitions = layout.partitions.map(
    (p) => `CREATE TABLE ${p.name} PARTITION OF ${layout.staging} ${p.bound};`,
  );
  return `CREATE TABLE ${layout.staging} (\n${columns}\n) PARTITION BY ${layout.partitionBy};\n${partitions.join('\n')}`;
}

/** The column list both layouts share, for INSERT ... SELECT between them. */
export function copyColumns(alias: string): string {
  return BASE_COLUMN_NAMES.map((c) => `${alias}.${c}`).join(', ');
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

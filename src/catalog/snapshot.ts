import type pg from 'pg';
import { quoteIdent } from '../db/ident.js';
import { CATALOG_SQL } from './sql.js';

/**
 * A column's own settings, each absent when default (older saved snapshots lack them all):
 * statistics target, storage when not its type's (p PLAIN, e EXTERNAL, m MAIN, x EXTENDED),
 * attribute options (`n_distinct=-0.5`) and column grants (`SELECT TO role`).
 */
export interface ColumnSettings {
  name: string;
  statistics?: number | null;
  storage?: string | null;
  attributeOptions?: string[];
  grants?: string[];
}

/** A publication that lists a table by itself, with its row filter and column list (null: all). */
export interface PublicationMembership {
  name: string;
  viaRoot: boolean;
  filter: string | null;
  columns: string[] | null;
}

/** One column as the catalog has it. */
export interface ColumnInfo extends ColumnSettings {
  name: string;
  /** format_type(): `bigint`, `timestamp with time zone`, `beckett.retry[]`, ... */
  type: string;
  notNull: boolean;
  /** pg_get_expr of the default, e.g. `nextval('messages_sequence_number_seq'::regclass)`. */
  default: string | null;
  /** 'a' (ALWAYS) / 'd' (BY DEFAULT) for identity columns, '' otherwise. */
  identity: string;
  /** 's' for a stored generated column, '' otherwise. */
  generated: string;
  /** Qualified name of a sequence owned by this column (serial / identity), or null. */
  ownedSequence: string | null;
  comment: string | null;
  /** The column's collation when it is not its type's default (qualified), else null. */
  collation?: string | null;
}

/** A constraint on the table: p(rimary), u(nique), f(oreign key), c(heck), x (exclusion). */
export interface ConstraintInfo {
  name: string;
  type: 'p' | 'u' | 'f' | 'c' | 'x' | 't';
  /** pg_get_constraintdef(), e.g. `FOREIGN KEY (collection_id) REFERENCES collections(id)`. */
  definition: string;
  columns: string[];
  validated: boolean;
  /** For a foreign key: the referenced table, qualified. */
  references: string | null;
}

/** An index; `constraint` names the constraint that owns it (primary key, unique), if any. */
export interface IndexInfo {
  name: string;
  definition: string;
  unique: boolean;
  primary: boolean;
  constraint: string | null;
  /** Plain key columns; an expression key appears as null. */
  columns: (string | null)[];
  partial: boolean;
  valid: boolean;
  /** COMMENT ON INDEX (absent in snapshots saved before it was read). */
  comment?: string | null;
}

/** A trigger (internal ones, e.g. foreign key enforcement, are left out). */
export interface TriggerInfo {
  name: string;
  definition: string;
  timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF';
  level: 'ROW' | 'STATEMENT';
  events: ('INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE')[];
  /** `UPDATE OF a, b`: the columns an UPDATE must set for the trigger to fire; empty = any. */
  updateColumns: string[];
  /** The trigger function, qualified. */
  function: string;
  /** 'O' origin (default), 'D' disabled, 'R' replica, 'A' always. */
  enabled: string;
}

/** A foreign key of another table that references this one. */
export interface IncomingForeignKey {
  name: string;
  table: string;
  definition: string;
}

/** A view or materialized view that reads the table (directly). */
export interface DependentView {
  name: string;
  kind: 'v' | 'm';
  definition: string;
}

/** A view or materialized view reading the table directly or through other views, with what recreating it needs. */
export interface DependentObject {
  /** Qualified name. */
  name: string;
  kind: 'v' | 'm';
  /** 1 = reads the table; n = reads a dependent of depth n-1 (creation order). */
  depth: number;
  definition: string;
  options: string[];
  owner: string;
  comment: string | null;
  populated: boolean;
  grants: string[];
  /** pg_get_indexdef of a materialized view's indexes. */
  indexes: string[];
}

/** A partition with what rebuilding it needs. */
export interface PartitionInfo {
  name: string;
  bound: string;
  /** 'r' table, 'p' itself partitioned, 'f' foreign. */
  kind: string;
  owner: string;
  options: string[];
  grants: string[];
  /** Its indexes, with the parent index each is attached to (null: the partition's own). */
  indexes: { name: string; parent: string | null }[];
  /** Its foreign keys, with the parent's foreign key each was cloned from (names may differ after a rename). */
  foreignKeys: { name: string; parent: string | null }[];
  /** Triggers of its own (not clones of the parent's). */
  triggers: string[];
  /** d(efault), f(ull), n(othing), i(ndex: replicaIndex). Absent in older saved snapshots. */
  replicaIdentity?: string;
  replicaIndex?: string | null;
  /** Publications listing the partition by itself. */
  publications?: string[];
  /** Its columns that have settings of their own (see ColumnSettings). */
  columns?: ColumnSettings[];
}

/** Everything dbops reads about one table before it changes it. */
export interface TableSnapshot {
  schema: string;
  name: string;
  /** 'r' table, 'p' partitioned table. */
  kind: 'r' | 'p';
  owner: string;
  options: string[];
  /** `HASH (collection_id)` for a partitioned table, else null. */
  partitionKey: string | null;
  partitions: PartitionInfo[];
  /** The ACL as aclitem text, and as GRANT statements that reproduce it (empty: default privileges). */
  acl: string[];
  grants: string[];
  comment: string | null;
  /** 'p' permanent, 'u' unlogged. */
  persistence: string;
  rowSecurity: boolean;
  /** d(efault), f(ull), n(othing), i(ndex: replicaIndex). Absent in older saved snapshots. */
  replicaIdentity?: string;
  replicaIndex?: string | null;
  /** Publications listing the table by itself (FOR TABLE chunks). */
  publications?: PublicationMembership[];
  /** Publications FOR ALL TABLES or FOR TABLES IN SCHEMA of its schema. */
  publishedWithSchema?: string[];
  columns: ColumnInfo[];
  constraints: ConstraintInfo[];
  indexes: IndexInfo[];
  triggers: TriggerInfo[];
  foreignKeysIn: IncomingForeignKey[];
  views: DependentView[];
  /** Views and materialized views reading the table, directly or not, in creation order. */
  dependents: DependentObject[];
}

/** A function found by name, with its full definition. */
export interface FunctionInfo {
  schema: string;
  name: string;
  identityArgs: string;
  returns: string;
  definition: string;
}

/** A type found by name: c(omposite), e(num), d(omain), b(ase), r(ange). */
export interface TypeInfo {
  schema: string;
  name: string;
  kind: string;
  /** Enum labels, composite attributes (`name type`), or the domain's base type. */
  details: string[];
}

/** What one schema holds, for the names a family asked about. */
export interface CatalogSnapshot {
  schema: string;
  /** Tables (and partitioned tables) by name; names asked for that do not exist are absent. */
  tables: Map<string, TableSnapshot>;
  /** Relations of any kind (table, view, index, sequence, ...) by name: what a CREATE would clash with. */
  relations: Map<string, string>;
  functions: FunctionInfo[];
  types: Map<string, TypeInfo>;
}

/** Names a family wants described: tables in full, plus functions and types by name. */
export interface CatalogRequest {
  tables: string[];
  functions?: string[];
  types?: string[];
}

/**
 * Reads the catalog for `schema` in one round trip (a single parameterized statement returning
 * one JSON document), so preflights and migrations work from what the database really has.
 */
export async function readCatalog(
  client: pg.ClientBase,
  schema: string,
  request: CatalogRequest,
): Promise<CatalogSnapshot> {
  const { rows } = await client.query<{ doc: RawCatalog }>(CATALOG_SQL, [
    schema,
    request.tables,
    request.functions ?? [],
    request.types ?? [],
  ]);
  const doc = rows[0]!.doc;
  return {
    schema,
    tables: new Map((doc.tables ?? []).map((t) => [t.name, normaliseTable(t)])),
    relations: new Map((doc.relations ?? []).map((r) => [r.name, r.kind])),
    functions: doc.functions ?? [],
    types: new Map((doc.types ?? []).map((t) => [t.name, t])),
  };
}

/** The column of a table, or undefined. */
export function columnOf(table: TableSnapshot | undefined, name: string): ColumnInfo | undefined {
  return table?.columns.find((c) => c.name === name);
}

/** Triggers that fire on an UPDATE setting `columns` (those without a column list fire on any). */
export function updateTriggersFor(table: TableSnapshot, columns: string[]): TriggerInfo[] {
  return table.triggers.filter(
    (t) =>
      t.events.includes('UPDATE') &&
      t.enabled !== 'D' &&
      (t.updateColumns.length === 0 || t.updateColumns.some((c) => columns.includes(c))),
  );
}

interface RawCatalog {
  tables: (Omit<TableSnapshot, 'partitions' | 'foreignKeysIn' | 'views' | 'dependents'> & {
    dependents: DependentObject[] | null;
    partitions: TableSnapshot['partitions'] | null;
    foreignKeysIn: IncomingForeignKey[] | null;
    views: DependentView[] | null;
  })[];
  relations: { name: string; kind: string }[];
  functions: FunctionInfo[];
  types: TypeInfo[];
}

function normaliseTable(t: RawCatalog['tables'][number]): TableSnapshot {
  return {
    ...t,
    options: t.options ?? [],
    partitions: t.partitions ?? [],
    columns: t.columns ?? [],
    constraints: t.constraints ?? [],
    indexes: t.indexes ?? [],
    triggers: t.triggers ?? [],
    foreignKeysIn: t.foreignKeysIn ?? [],
    views: t.views ?? [],
    dependents: t.dependents ?? [],
    acl: t.acl ?? [],
    grants: t.grants ?? [],
  };
}

/** GRANT statement for one column `grants` entry (`SELECT TO role`) on `relation`.`column`. */
export function columnGrantSql(relation: string, column: string, grant: string): string {
  const at = grant.indexOf(' TO ');
  return `GRANT ${grant.slice(0, at)} (${quoteIdent(column)}) ON ${relation}${grant.slice(at)}`;
}

/** GRANT statement for one `grants` entry (`SELECT TO role`) on `relation` (quoted or qualified). */
export function grantSql(relation: string, grant: string): string {
  const at = grant.indexOf(' TO ');
  return `GRANT ${grant.slice(0, at)} ON ${relation}${grant.slice(at)}`;
}

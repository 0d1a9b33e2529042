/**
 * What a migration installs, declared next to the SQL that installs it. `check schema` compares
 * the catalog with the union of the manifests of every applied migration of a family. All names
 * are unqualified and live in the family's schema.
 */
export interface SchemaManifest {
  tables?: { name: string; columns: string[] }[];
  /** Columns added to existing (base) tables. */
  columns?: { table: string; columns: string[] }[];
  indexes?: { name: string; table: string }[];
  triggers?: TriggerSpec[];
  /** Functions by name; `body` is compared with pg_proc.prosrc (whitespace at the ends ignored). */
  functions?: { name: string; body: string }[];
  views?: string[];
  materializedViews?: string[];
  /** A LIST-partitioned table whose partitions must be exactly `prefix` + 00..(count-1) (and the DEFAULT partition, if named). */
  listPartitions?: { table: string; prefix: string; count: number; defaultPartition?: string };
}

export interface TriggerSpec {
  name: string;
  table: string;
  timing: 'BEFORE' | 'AFTER';
  level: 'ROW' | 'STATEMENT';
  events: ('INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE')[];
  function: string;
  /** The trigger declares REFERENCING NEW TABLE (a transition table). */
  newTable?: boolean;
}

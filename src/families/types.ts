import type pg from 'pg';
import type { FamilyName } from './names.js';

/** A table a family's first migration needs, with the columns it relies on. */
export interface BaseTable {
  table: string;
  columns: string[];
}

/** Everything dbops knows about one migration family. */
export interface FamilyDefinition {
  name: FamilyName | string;
  /** One line for reports and the README. */
  title: string;
  /** Absolute path of the runnable migration files. */
  migrationsDir: string;
  /** Absolute path of the migration sources (.ts) used for checksums and `migrate create`. */
  sourcesDir: string;
  /** Base tables that must exist (in the family's schema) before the first migration. */
  baseTables: BaseTable[];
  /** Shape checks beyond tables and columns; returns one line per problem found. */
  preflight?: (client: pg.ClientBase, schema: string) => Promise<string[]>;
}

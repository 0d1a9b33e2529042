import type pg from 'pg';
import type { ResyncTarget } from '../resync/types.js';
import type { FamilyName } from './names.js';

/** A table a family's first migration needs, with the columns it relies on. */
export interface BaseTable {
  table: string;
  columns: string[];
}

/** How the demo builds one family's base schema with data, and how it breaks its derived data. */
export interface DemoFamily {
  family: FamilyName;
  /** Creates the base schema with about `rows` source rows; returns a line describing it. */
  setup(client: pg.ClientBase, rows: number): Promise<string>;
  /** Simulates the drift the original system suffered; returns a line saying what was done. */
  drift(client: pg.ClientBase): Promise<string>;
}

/**
 * What a family's preflight found. `problems` refuse the run (every one of them in one round,
 * before anything changes); `notes` go into the plan that `migrate up` and `--dry-run` print:
 * objects that will be adopted, unique keys that must be extended, application triggers.
 */
/** What the operator told dbops that the catalog cannot say (from the config file). */
export interface PreflightOptions {
  /** config columnWriters: `"<table>.<column>"` -> who writes that existing column. */
  columnWriters: Record<string, 'app' | 'dbops'>;
}

export interface PreflightResult {
  problems: string[];
  notes: string[];
}

/**
 * A base table a family's backfill UPDATEs, with the columns it sets. The engine's rehearsal and
 * its application-trigger guard read these: the application's triggers that such an UPDATE
 * would fire either do not fire (batches under session_replication_role = replica) or are named,
 * and need --fire-app-triggers.
 */
export interface BackfillWrite {
  table: string;
  columns: string[];
}

/** What the migration engine needs of a family (tests give it small made-up families). */
export interface MigrationFamily {
  name: string;
  /** One line for reports and the README. */
  title: string;
  /** Absolute path of the runnable migration files. */
  migrationsDir: string;
  /** Absolute path of the migration sources (.ts) used for checksums and `migrate create`. */
  sourcesDir: string;
  /** Base tables that must exist (in the family's schema) before the first migration. */
  baseTables: BaseTable[];
  /**
   * Shape checks beyond tables and columns, read from the catalog. Runs even when base tables
   * are missing (so every problem is reported in one round): it must tolerate absent tables.
   * Returns one line per problem, or problems and plan notes.
   */
  preflight?: (
    client: pg.ClientBase,
    schema: string,
    options: PreflightOptions,
  ) => Promise<string[] | PreflightResult>;
  /** Base tables the family's backfills UPDATE (default: none). */
  backfillWrites?: BackfillWrite[];
}

/**
 * Everything the generic engines (migrate, checks, resync, demo) know about one family. A family
 * lives in one folder, src/families/<name>/, with its migrations in migrations/<name>/ and its
 * checks in checks/<name>/; the registry (src/families/index.ts) lists it.
 */
export interface FamilyDefinition extends MigrationFamily {
  name: FamilyName;
  /**
   * Names of the derived tables `dbops resync` can rebuild for this family, in the order `all`
   * runs them: the allowlist, known without loading the targets' code.
   */
  resyncTargetNames: string[];
  /** Those targets, in the same order (loaded by resync and the demo; check and migrate never). */
  loadResyncTargets(): Promise<ResyncTarget[]>;
  /** The demo's data and drift for this family (loaded only by `dbops demo` and the bench). */
  loadDemo(): Promise<DemoFamily>;
}

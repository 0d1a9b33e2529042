/**
 * The public types of the library API (src/api.ts). Kept free of pg's types, so that a project
 * using dbops type-checks without @types/pg.
 */
import type { ResolvedConfig, SkewSettings } from '../config.js';
import type { FamilyName } from '../families/names.js';
import type { Progress } from '../progress.js';

/** The config file's shape (`dbops.config.json`); every key optional. See docs/config.md. */
export interface DbopsConfig {
  databaseUrl?: string;
  families?: FamilyName[];
  schemas?: Partial<Record<FamilyName, string>>;
  lockTimeoutMs?: number;
  lockRetries?: number;
  statementTimeoutMs?: number;
  migrationLockWaitMs?: number;
  batchSize?: number;
  checks?: Partial<ResolvedConfig['checks']>;
  skew?: Partial<SkewSettings>;
}

/** Options every API function takes: where to connect and how to behave. */
export interface DbopsOptions {
  /** postgres:// URL. Else `DATABASE_URL` in `env`, else the config's `databaseUrl`, else PG* variables. */
  databaseUrl?: string;
  /**
   * A config file path (relative to `cwd`), or the config as an object (validated like the
   * file). Default: `dbops.config.json|.js|.ts` in `cwd` when present.
   */
  config?: string | DbopsConfig;
  /** Where a config file is looked for. Default `process.cwd()`. */
  cwd?: string;
  /** Environment read for DATABASE_URL and PG*. Default `process.env`; `{}` ignores it. */
  env?: Record<string, string | undefined>;
  /** lock_timeout for DDL, ms (overrides the config). */
  lockTimeoutMs?: number;
  /** statement_timeout for migrations and resyncs, ms, 0 = none (overrides the config). */
  statementTimeoutMs?: number;
  /** Aborting cancels the running statement on the server; the call rejects with InterruptedError. */
  signal?: AbortSignal;
  /** Receives progress of long work (backfills, copies, resyncs). Default: none. */
  progress?: Progress;
}

export interface CheckRequest {
  /** Which checks: every kind (`all`, the default), or only consistency or schema checks. */
  kind?: 'all' | 'consistency' | 'schema';
  /** Families to check; default: those in the config, else every family with a migration applied. */
  families?: string[];
  /** Count rows exactly for skew instead of trusting statistics. */
  exact?: boolean;
  /** A family that is not (fully) applied does not make the report fail. */
  allowSkipped?: boolean;
}

export interface SkewRequest {
  /** Partitioned table (`name` or `schema.name`); default config `skew.table` (chunks). */
  table?: string;
  /** max/avg above this is WARNING; default config `skew.warn` (1.1). */
  warn?: number;
  /** max/avg above this is REBALANCE NEEDED; default config `skew.fail` (1.2). */
  fail?: number;
  /** Count rows with count(*) instead of pg_class.reltuples estimates. */
  exact?: boolean;
}

export interface MigrateRequest {
  /** `up` (default) applies pending migrations, `down` rolls back, `redo` = n down then n up. */
  direction?: 'up' | 'down' | 'redo';
  /** Families; `up` defaults to those configured or whose base tables exist; `down`/`redo` need them. */
  families?: string[];
  /** up: stop after this migration; down: roll back every migration after it (name or 0001). */
  to?: string;
  /** down/redo: how many migrations (default 1). */
  count?: number;
  /** down: every migration of the family. */
  all?: boolean;
  /** Run the preflight and return the plan and its SQL; change nothing. */
  dryRun?: boolean;
  /** Let backfills fire the application's triggers (where session_replication_role may not be set). */
  fireAppTriggers?: boolean;
  /**
   * Keep retrying a step that hits lock_timeout for up to this many seconds (a long transaction,
   * or one a concurrent index build waits for) instead of giving up after lockRetries.
   */
  waitSeconds?: number;
}

export interface StatusRequest {
  /** Families; default: those in the config, else every family dbops knows. */
  families?: string[];
  /** A pending migration makes the report fail (status `fail`). */
  failOnPending?: boolean;
}

export interface ResyncRequest {
  /** Targets (partition-lookup, conversation-stats, sequence-numbers, checkpoints, chunking-stats) or `all`. */
  targets: string[];
  /** Count the rows that would be inserted, updated and deleted; change nothing. */
  dryRun?: boolean;
  /** Source keys per committed batch; default per target. */
  batchSize?: number;
}

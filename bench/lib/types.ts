import type pg from 'pg';
import type { BenchDatabase } from './db.js';

/**
 * The contract between `bench/run.ts` and a family module `bench/ops/<family>.ts`. A family
 * builds its data once per size and hands back operations; the runner times each operation's
 * subject (dbops, or the SQL under test) against its baseline (the best hand-written SQL).
 */

/** What a family module gets: its own fresh database and the requested size. */
export interface BenchContext {
  db: BenchDatabase;
  /** The bench's own connection (baselines run here, already connected). */
  client: pg.Client;
  /** Source rows to generate (the `--rows` flag, or the smaller memory-check size). */
  rows: number;
  /** Progress lines for the human running the bench (stderr). */
  log(message: string): void;
}

/** `dbops <args>` as a child process (`node bin/dbops.js`): wall time and peak RSS. */
export interface CliSide {
  kind: 'cli';
  args: string[];
  /** Exit codes that mean "did the job" (checks exit 1 on findings). Default [0]. */
  okCodes?: number[];
}

/**
 * SQL in a fresh session (connect included), autocommitted, `repeat` times (default once),
 * timed as a whole.
 * `sql` is plain SQL a reader can paste into psql; `params` supplies $n values per execution
 * (the reader's equivalent is described in `paramsNote`).
 */
export interface SqlSide {
  kind: 'sql';
  sql: string;
  repeat?: number;
  params?: (execution: number) => unknown[];
  paramsNote?: string;
}

/**
 * Work the bench cannot express as one CLI run or one statement (e.g. concurrent workers), timed
 * by `run` itself (untimed preparation and checks stay outside its `ms`). `sql` is what each
 * execution runs, printed in the report for a reader to paste.
 */
export interface FnSide {
  kind: 'fn';
  sql: string;
  run(ctx: BenchContext): Promise<RunOutput>;
}

export type Side = CliSide | SqlSide | FnSide;

/** What one timed run produced; `verify` inspects it. */
export interface RunOutput {
  ms: number;
  /** Peak RSS of the dbops process, KiB (CLI sides only). */
  peakRssKb?: number;
  /**
   * CLI sides with `--format json`: the report's durationMs, i.e. dbops' own work from after
   * connect and session set-up to the report (the rest of the wall time is start-up and fixed cost).
   */
  workMs?: number;
  stdout?: string;
  /** Rows of the last execution (SQL sides). */
  rows?: Record<string, unknown>[];
  /** Side-specific numbers (fn sides), e.g. reservations/s; written to the JSON. */
  stats?: Record<string, number>;
}

export type SideName = 'subject' | 'baseline';

export interface BenchOperation {
  /** Stable id, `<family>.<operation>`, e.g. `lookup.resync`. */
  id: string;
  title: string;
  /** Work units one run processes, for rows/s (e.g. 40000 partitions). */
  units: { count: number; label: string };
  /** The maximum acceptable subject/baseline ratio (the target), if any. */
  target?: number;
  /**
   * What a remaining gap buys (e.g. batches that lock only what they repair), printed under the
   * table; a function sees the measured times to put the figure in.
   */
  note?: string | ((subjectMs: number, baselineMs: number) => string);
  /**
   * How the ratio is read. `cli`: the subject is the dbops CLI, whose fixed start-up cost is
   * subtracted (reported separately). `sql` / `fn`: plain ratio.
   */
  subject: Side;
  /** The best hand-written SQL for the same job (`fn`: run by concurrent workers). */
  baseline: SqlSide | FnSide;
  /** Once, before this operation's first run (untimed): e.g. create the drift to repair. */
  setup?(ctx: BenchContext): Promise<void>;
  /** Brings the database to the same starting state before every timed run (untimed). */
  reset?(ctx: BenchContext, side: SideName): Promise<void>;
  /** Throws when a run did not do the job (untimed, after every run). */
  verify?(ctx: BenchContext, side: SideName, output: RunOutput): Promise<void>;
}

/** One family's contribution: `bench/ops/<family>.ts` default-exports this. */
export interface BenchFamily {
  name: string;
  /** What `--rows` counts for this family, e.g. "messages". */
  rowsLabel: string;
  /**
   * Creates the base schema and data for `ctx.rows` source rows in ctx.db and returns the
   * operations in the order they must run (an operation may rely on the state the previous
   * one left, e.g. the migration before the resync).
   */
  prepare(ctx: BenchContext): Promise<BenchOperation[]>;
}

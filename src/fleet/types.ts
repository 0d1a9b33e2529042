import type { FamilyName } from '../families/names.js';
import type { Report } from '../report/types.js';

/** One database of a fleet, as the targets file, the config or stdin names it. */
export interface FleetTarget {
  /** Unique within the run; what --target selects and every report names. */
  name: string;
  /** The entry a pattern was expanded from (--target selects all of its databases by it). */
  group?: string;
  /** postgres:// URL, password included: print only through maskUrl. */
  url: string;
  /** Families this database has (overrides config `families`). */
  families?: FamilyName[];
  /** Schema per family (overrides config `schemas`). */
  schemas?: Partial<Record<FamilyName, string>>;
  /** Known before any work: a pattern whose server could not be listed, or that matched nothing. */
  problem?: { status: 'unreachable' | 'refused'; message: string };
}

/**
 * What happened on a target. ok/warn/fail come from its reports (as the single-database exit
 * code would: 0, 0 with warnings, 1); the rest mean the target could not be processed (exit 2).
 */
export type TargetStatus =
  | 'ok'
  | 'warn'
  | 'fail'
  | 'error'
  | 'refused'
  | 'unreachable'
  | 'not-attempted';

/** Summary order, best first; every status but ok/warn/fail makes the fleet exit 2. */
export const TARGET_STATUSES: TargetStatus[] = [
  'ok',
  'warn',
  'fail',
  'error',
  'refused',
  'unreachable',
  'not-attempted',
];

/** The reports one target produced, all built by the single-database code. */
export interface TargetReports {
  /** The command's report (migrate/check/resync), exactly as that command on one database. */
  report: Report;
  /** Migrations: each family's state after the run (the `migrate status` report). */
  state?: Report;
  /** Canary and waves: the `check all` report that decided whether the rollout continues. */
  gate?: Report;
  /** Set when no connection could be made: unreachable, or refused (authentication). */
  connection?: 'unreachable' | 'refused';
}

export interface TargetResult extends Partial<TargetReports> {
  target: FleetTarget;
  status: TargetStatus;
  /** Why it is not ok, in one line (error message, not-attempted reason). */
  message?: string;
  /** canary, wave 2, ...; undefined without --canary/--wave. */
  phase?: string;
  durationMs: number;
}

export interface FleetReport {
  schemaVersion: 1;
  kind: 'fleet';
  command: string;
  startedAt: string;
  durationMs: number;
  /** Exit code of the run: 0 all ok, 1 findings on any target, 2 any target not processed. */
  exitCode: 0 | 1 | 2;
  counts: Record<TargetStatus, number>;
  total: number;
  targets: TargetResult[];
}

/**
 * Result objects every command produces and every reporter consumes. Reporters are pure
 * functions of a Report; only src/cli writes their output.
 */
export type ReportKind = 'checks' | 'migrations' | 'targets';

/** Overall outcome: ok, findings that warn or fail, or dbops could not do the job (error). */
export type OverallStatus = 'ok' | 'warn' | 'fail' | 'error';

export interface ReportItem {
  /** Stable id: a check id, `family/migration`, or a resync target name. */
  id: string;
  /** ok | warn | fail | skipped | error for checks; applied | pending | changed | done ... for others. */
  status: string;
  /** The family an item belongs to (groups JUnit suites). */
  family?: string;
  title?: string;
  /** Number of offending rows (checks). */
  count?: number;
  /** A few offending keys (checks). */
  sample?: string[];
  /** The command that fixes a finding, or what to do next. */
  hint?: string;
  /** Why an item was skipped, failed, or extra detail. */
  message?: string;
  /** Numbers shown as columns, e.g. inserted/updated/deleted, durationMs. */
  numbers?: Record<string, number | null>;
  /** Anything else a JSON consumer may want (appliedAt, sql, per-partition rows...). */
  details?: Record<string, unknown>;
  /**
   * A skipped item that counts as not ok: a requested family that was not checked (not applied,
   * or partly). Every format reports it as a failure; `check --allow-skipped` clears it.
   */
  notOk?: boolean;
}

export interface Report {
  schemaVersion: 1;
  /** The command line that produced it, e.g. "check all", "migrate up". */
  command: string;
  kind: ReportKind;
  status: OverallStatus;
  startedAt: string;
  durationMs: number;
  items: ReportItem[];
  /** Lines printed above the table (e.g. skew summary, dry-run SQL). */
  notes?: string[];
  error?: { kind: string; message: string; hint?: string };
}

/** Builds a report; `status` is derived from the items unless given. */
export function makeReport(
  fields: Omit<Report, 'schemaVersion' | 'status' | 'durationMs' | 'startedAt'> & {
    started: Date;
    status?: OverallStatus;
  },
): Report {
  const { started, status, ...rest } = fields;
  return {
    schemaVersion: 1,
    ...rest,
    status: status ?? deriveStatus(rest.items, rest.error !== undefined),
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
  };
}

const FAILING = new Set(['fail', 'failed']);
const WARNING = new Set(['warn', 'changed']);

export function deriveStatus(items: ReportItem[], errored: boolean): OverallStatus {
  if (errored || items.some((i) => i.status === 'error')) return 'error';
  if (items.some((i) => FAILING.has(i.status) || i.notOk === true)) return 'fail';
  if (items.some((i) => WARNING.has(i.status))) return 'warn';
  return 'ok';
}

/** Exit code contract: 0 ok (warnings allowed unless failOn is warn), 1 findings, 2 could not do the job. */
export function exitCodeFor(report: Report, failOn: 'warn' | 'fail' = 'fail'): number {
  if (report.status === 'error') return 2;
  if (report.status === 'fail') return 1;
  if (report.status === 'warn' && failOn === 'warn') return 1;
  return 0;
}

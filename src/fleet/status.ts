import { type ConnectionError, isPgError, SqlState } from '../errors.js';
import { exitCodeFor, type Report, type ReportItem } from '../report/types.js';
import {
  type FleetReport,
  TARGET_STATUSES,
  type TargetReports,
  type TargetResult,
  type TargetStatus,
} from './types.js';

/** A connection that failed: the server refused us (authentication) or could not be reached. */
export function connectionStatus(err: ConnectionError): 'unreachable' | 'refused' {
  const cause = err.cause;
  return isPgError(cause) &&
    (cause.code === SqlState.invalidPassword || cause.code === SqlState.invalidAuthorization)
    ? 'refused'
    : 'unreachable';
}

/**
 * A target's status from its reports, by the single-database exit-code rules: a report that
 * errored is `error` (`refused` when dbops refused to start: a precondition such as missing base
 * tables), findings are `fail` (warnings too with --fail-on warn), warnings `warn`.
 */
export function classify(
  r: TargetReports,
  failOn: 'warn' | 'fail',
): { status: TargetStatus; message?: string } {
  if (r.connection) return { status: r.connection, message: firstLine(r.report.error?.message) };
  const reports = [r.report, ...(r.gate ? [r.gate] : [])];
  const errored = reports.find((x) => exitCodeFor(x, failOn) === 2);
  if (errored) {
    const ids = findingIds(errored, failOn);
    return {
      status: errored.error?.kind === 'precondition' ? 'refused' : 'error',
      message: firstLine(errored.error?.message) ?? `errors in ${ids.join(', ')}`,
    };
  }
  const failed = reports.filter((x) => exitCodeFor(x, failOn) === 1);
  if (failed.length > 0) {
    const prefix = (x: Report) => (x === r.gate ? 'check all: ' : '');
    return {
      status: 'fail',
      message: failed.map((x) => `${prefix(x)}${findingIds(x, failOn).join(', ')}`).join('; '),
    };
  }
  return { status: reports.some((x) => x.status === 'warn') ? 'warn' : 'ok' };
}

/** The items that make a report not ok, as `id (count)`. */
export function findingIds(report: Report, failOn: 'warn' | 'fail'): string[] {
  return report.items.filter((i) => notOk(i, failOn)).map(describeItem);
}

function notOk(i: ReportItem, failOn: 'warn' | 'fail'): boolean {
  return (
    ['fail', 'failed', 'error'].includes(i.status) ||
    i.notOk === true ||
    (failOn === 'warn' && ['warn', 'changed'].includes(i.status))
  );
}

function describeItem(i: ReportItem): string {
  return i.count !== undefined && i.count > 0 ? `${i.id} (${i.count})` : `${i.id} ${i.status}`;
}

function firstLine(text: string | undefined): string | undefined {
  return text?.split('\n')[0];
}

/** ok and warn targets are healthy: a canary or wave with any other continues no further. */
export function healthy(result: TargetResult): boolean {
  return result.status === 'ok' || result.status === 'warn';
}

/** 0 every target ok; 1 findings on any target; 2 any target could not be processed. */
export function fleetExitCode(results: TargetResult[]): 0 | 1 | 2 {
  if (results.some((r) => !['ok', 'warn', 'fail'].includes(r.status))) return 2;
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

export function fleetReport(command: string, started: Date, results: TargetResult[]): FleetReport {
  const counts = Object.fromEntries(TARGET_STATUSES.map((s) => [s, 0])) as Record<
    TargetStatus,
    number
  >;
  for (const r of results) counts[r.status] += 1;
  return {
    schemaVersion: 1,
    kind: 'fleet',
    command,
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    exitCode: fleetExitCode(results),
    counts,
    total: results.length,
    targets: results,
  };
}

/** `38 ok, 1 fail, 1 unreachable of 40`: ok always, other statuses when present. */
export function summaryCounts(report: FleetReport): string {
  const parts = TARGET_STATUSES.filter((s) => s === 'ok' || report.counts[s] > 0).map(
    (s) => `${report.counts[s]} ${s === 'not-attempted' ? 'not attempted' : s}`,
  );
  return `${parts.join(', ')} of ${report.total}`;
}

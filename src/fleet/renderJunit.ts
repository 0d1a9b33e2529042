import { esc, testcase } from '../report/junit.js';
import type { ReportItem } from '../report/types.js';
import { summaryCounts } from './status.js';
import type { FleetReport, TargetResult } from './types.js';

/**
 * JUnit XML with one testsuite per target: a testcase per item of its report (and of the
 * check all gate, ids prefixed `gate `), plus one `<target>` testcase carrying the error when the
 * target could not be processed (unreachable, refused, error, not attempted).
 */
export function renderFleetJunit(report: FleetReport, failOn: 'warn' | 'fail' = 'fail'): string {
  const isFailure = (i: ReportItem) =>
    ['fail', 'failed'].includes(i.status) ||
    i.notOk === true ||
    (i.status === 'warn' && failOn === 'warn');
  const suites = report.targets.map((t) => {
    const items = [
      ...(t.report?.items ?? []),
      ...(t.gate?.items ?? []).map((i) => ({ ...i, id: `gate ${i.id}` })),
    ];
    const prefix = `dbops.${t.target.name}`;
    const cases = items.map((i) => testcase(i, isFailure(i), prefix));
    const problem = notProcessed(t);
    if (problem) cases.push(problem);
    const failures = items.filter(isFailure).length;
    const errors = items.filter((i) => i.status === 'error').length + (problem ? 1 : 0);
    const skipped = items.filter((i) => i.status === 'skipped' && !i.notOk).length;
    return `  <testsuite name="${esc(t.target.name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${(t.durationMs / 1000).toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${esc(`dbops ${report.command}: ${summaryCounts(report)}`)}" tests="${report.total}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function notProcessed(t: TargetResult): string | undefined {
  if (['ok', 'warn', 'fail'].includes(t.status) && !t.report?.error) return undefined;
  const text = t.report?.error
    ? `${t.report.error.message}${t.report.error.hint ? `\nhint: ${t.report.error.hint}` : ''}`
    : (t.message ?? t.status);
  return `    <testcase classname="dbops.${esc(t.target.name)}" name="target" time="0.000">\n      <error type="${esc(t.status)}" message="${esc(`${t.status}: ${t.message ?? ''}`)}">${esc(text)}</error>\n    </testcase>`;
}

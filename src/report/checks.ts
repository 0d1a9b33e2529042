import type { SkewAnalysis } from '../checks/skew.js';
import type { CheckResult } from '../checks/types.js';
import { makeReport, type Report, type ReportItem } from './types.js';

/** The item a report carries when no check ran at all: checking nothing is not a pass. */
export const NOTHING_CHECKED_ID = 'dbops.nothing-checked';

/**
 * `check ...`: one item per check with status, count, sample and the fixing command. Never green
 * on nothing: a skipped check counts as not ok unless `allowSkipped`, and a run without any
 * check (nothing selected, or nothing to check) is a failing item of its own.
 */
export function checkReport(
  command: string,
  started: Date,
  results: CheckResult[],
  notes: string[] = [],
  allowSkipped = false,
): Report {
  const items = results.map((r) => ({
    ...toItem(r),
    ...(r.status === 'skipped' && !allowSkipped ? { notOk: true } : {}),
  }));
  if (items.every((i) => i.status === 'skipped')) {
    items.push({
      id: NOTHING_CHECKED_ID,
      status: 'fail',
      family: 'dbops',
      title: 'at least one check ran',
      count: 0,
      sample: [],
      hint: 'dbops migrate up <family> (then check again), or name the families to check',
      message:
        items.length === 0
          ? 'nothing was checked: no family was named or configured, and none has a migration applied here'
          : 'every check was skipped: nothing was checked',
      numbers: { durationMs: 0 },
      details: { severity: 'fail', kind: 'meta' },
    });
  }
  return makeReport({
    command,
    kind: 'checks',
    started,
    items,
    ...(notes.length > 0 ? { notes } : {}),
  });
}

function toItem(r: CheckResult): ReportItem {
  return {
    id: r.id,
    status: r.status,
    family: r.family,
    title: r.title,
    count: r.count,
    sample: r.sample,
    hint: r.hint,
    ...(r.message ? { message: r.message } : {}),
    numbers: { durationMs: r.durationMs },
    details: { severity: r.severity, kind: r.kind, ...(r.details ?? {}) },
  };
}

/** Human lines summarising a skew analysis (printed above the table). */
export function skewNotes(a: SkewAnalysis, thresholds: { warn: number; fail: number }): string[] {
  const fmt = (x: number | null, digits = 2) => (x === null ? 'n/a' : x.toFixed(digits));
  const lines = [
    `${a.table}: ${a.status} max/avg ${fmt(a.ratio)} (warn > ${thresholds.warn}, fail > ${thresholds.fail}), CV ${fmt(a.cv)}, ` +
      `${a.partitions.length} partitions, ${a.total} rows, avg ${fmt(a.avg, 1)}, max ${a.max}`,
    `row counts: ${a.method === 'exact' ? 'exact count(*)' : 'estimates from pg_class.reltuples'}${a.fallbackReason ? ` (${a.fallbackReason})` : ''}`,
  ];
  if (a.hot.length > 0) lines.push(`hot (> avg x hot): ${a.hot.join(', ')}`);
  if (a.cold.length > 0) lines.push(`cold (< avg x cold): ${a.cold.join(', ')}`);
  return lines;
}

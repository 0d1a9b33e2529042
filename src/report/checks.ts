import type { SkewAnalysis } from '../checks/skew.js';
import type { KeyDiagnosis } from '../checks/skewBound.js';
import type { CheckResult } from '../checks/types.js';
import type { Style } from './style.js';
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
    `row counts: ${a.method === 'exact' ? `exact count(*)${a.keys ? ` per ${a.keys.column}` : ''}` : 'estimates from pg_class.reltuples'}${a.fallbackReason ? ` (${a.fallbackReason})` : ''}`,
  ];
  if (a.hot.length > 0) lines.push(`hot (> avg x hot): ${a.hot.join(', ')}`);
  if (a.cold.length > 0) lines.push(`cold (< avg x cold): ${a.cold.join(', ')}`);
  if (a.keys) lines.push(...keyNotes(a, a.keys));
  if (a.advice) lines.push(`action: ${a.advice}`);
  return lines;
}

const MAX_HOT_LINES = 10;

/** Distinct keys, the best reachable balance, and who makes each hot partition hot. */
function keyNotes(a: SkewAnalysis, k: KeyDiagnosis): string[] {
  const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const lines = [
    `${k.distinct} distinct ${k.column}; best max/avg any placement can reach >= ${fmt(k.bestRatio)} ` +
      `(greedy placement ${fmt(k.greedyRatio)}); current max = ${fmt(k.excess)} x that best`,
  ];
  if (k.largest) {
    lines.push(
      `largest ${k.column} ${k.largest.key}: ${k.largest.rows} rows in ${k.largest.partition}, ` +
        `${(k.largest.rows / Math.max(a.avg, 1e-9)).toFixed(2)} x a partition's fair share (${a.avg.toFixed(1)})` +
        `${k.oversized ? ': larger than one partition should hold (structural)' : ''}`,
    );
  }
  for (const h of k.hot.slice(0, MAX_HOT_LINES)) {
    const top = h.keys.slice(0, 3).map((s) => `${s.key} ${pct(s.share)}`);
    const rest = h.keys.slice(3);
    if (rest.length > 0)
      top.push(`${rest.length} more ${pct(rest.reduce((s, x) => s + x.share, 0))}`);
    lines.push(
      `  hot ${h.partition}: ${h.rows} rows (${(h.rows / a.avg).toFixed(1)} x avg): ${top.join(', ')}`,
    );
  }
  if (k.hot.length > MAX_HOT_LINES)
    lines.push(`  ... ${k.hot.length - MAX_HOT_LINES} more hot partitions`);
  return lines;
}

const BLOCKS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * Terminal histogram of rows per partition (partitions in natural name order, one column each):
 * hot columns red and marked H below, cold ones blue and marked c, the average as a dotted line.
 * Wider tables wrap into blocks of `width` columns.
 */
export function skewHistogram(a: SkewAnalysis, c: Style, width = 80, height = 8): string[] {
  if (a.max <= 0) return [];
  const parts = [...a.partitions].sort((x, y) =>
    x.name.localeCompare(y.name, undefined, { numeric: true }),
  );
  const hot = new Set(a.hot);
  const cold = new Set(a.cold);
  const avgRow = Math.min(height - 1, Math.floor((a.avg / a.max) * height));
  const perBlock = Math.max(10, width - 12);
  const lines = [
    `rows per partition (${parts[0]?.name} .. ${parts.at(-1)?.name}; H hot, c cold, ··· avg):`,
  ];
  for (let from = 0; from < parts.length; from += perBlock) {
    const block = parts.slice(from, from + perBlock);
    for (let row = height - 1; row >= 0; row--) {
      const label = row === height - 1 ? String(a.max) : row === 0 ? '0' : '';
      const cells = block.map((p) => {
        const eighths = Math.round((p.rows / a.max) * height * 8) - row * 8;
        const ch = eighths <= 0 ? (row === avgRow ? '·' : ' ') : BLOCKS[Math.min(8, eighths)]!;
        return hot.has(p.name) ? c.red(ch) : cold.has(p.name) ? c.blue(ch) : ch;
      });
      lines.push(`${label.padStart(10)} │${cells.join('')}`);
    }
    const marks = block.map((p) =>
      hot.has(p.name) ? c.red('H') : cold.has(p.name) ? c.blue('c') : ' ',
    );
    lines.push(`${''.padStart(10)} └${marks.join('')}`);
  }
  return lines;
}

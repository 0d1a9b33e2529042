import type { Report, ReportItem } from '../report/types.js';
import type { TargetResult } from './types.js';

/** One cell of the matrix: a target's outcome for one family. */
export interface Cell {
  /** Worst status, for colour and for machines. */
  status: string;
  /** What the table shows: the status and, for findings, the check ids with their counts. */
  text: string;
}

/** Worst first. */
const RANK = ['error', 'failed', 'fail', 'warn', 'changed', 'partial', 'missing-file', 'pending'];
function worst(statuses: string[]): string {
  const rank = (s: string) => (RANK.includes(s) ? RANK.indexOf(s) : RANK.length);
  return [...statuses].sort((a, b) => rank(a) - rank(b))[0] ?? 'ok';
}

/**
 * The cells of one target, keyed by family. Checks: worst status, then each finding as
 * `id count`. Migrations: failed, or the family's state after the run (applied/partial/pending)
 * with how many migrations this run applied (+n) or rolled back (-n). Resync: worst status and
 * rows changed.
 */
export function familyCells(result: TargetResult): Map<string, Cell> {
  const report = result.report;
  if (!report) return new Map();
  if (report.kind === 'checks') return byFamily(report.items, (i) => i.family, checkCell);
  if (report.kind === 'targets') return byFamily(report.items, (i) => i.title, resyncCell);
  return migrationCells(report, result.state);
}

function byFamily(
  items: ReportItem[],
  familyOf: (i: ReportItem) => string | undefined,
  cell: (family: string, items: ReportItem[]) => Cell,
): Map<string, Cell> {
  const groups = new Map<string, ReportItem[]>();
  for (const i of items) {
    const family = familyOf(i) ?? 'dbops';
    groups.set(family, [...(groups.get(family) ?? []), i]);
  }
  return new Map([...groups].map(([family, list]) => [family, cell(family, list)]));
}

function checkCell(family: string, items: ReportItem[]): Cell {
  const status = worst(items.map((i) => (i.notOk ? 'fail' : i.status)));
  const findings = items
    .filter((i) => i.status !== 'ok' && !(i.status === 'skipped' && !i.notOk))
    .map(
      (i) =>
        `${i.id.startsWith(`${family}.`) ? i.id.slice(family.length + 1) : i.id} ${i.count ?? 0}`,
    );
  return { status, text: [status, ...findings].join('\n') };
}

function resyncCell(_family: string, items: ReportItem[]): Cell {
  const status = worst(items.map((i) => i.status));
  const rows = items.reduce(
    (s, i) =>
      s + (i.numbers?.inserted ?? 0) + (i.numbers?.updated ?? 0) + (i.numbers?.deleted ?? 0),
    0,
  );
  return { status, text: `${status}${rows > 0 ? ` ${rows} rows` : ''}` };
}

function migrationCells(report: Report, state: Report | undefined): Map<string, Cell> {
  const cells = new Map<string, Cell>();
  // migrate status has the family items itself; up/down/redo have them in the state report.
  const families = [...report.items, ...(state?.items ?? [])].filter(
    (i) => i.details?.kind === 'family',
  );
  for (const f of families) cells.set(f.id, { status: f.status, text: f.status });
  const runs = report.items.filter((i) => i.details?.kind !== 'family' && i.id.includes('/'));
  const byFamilyRuns = new Map<string, ReportItem[]>();
  for (const i of runs) {
    const family = i.id.split('/')[0]!;
    byFamilyRuns.set(family, [...(byFamilyRuns.get(family) ?? []), i]);
  }
  for (const [family, list] of byFamilyRuns) {
    const failed = list.find((i) => i.status === 'failed');
    const applied = list.filter((i) => i.status === 'applied').length;
    const reverted = list.filter((i) => i.status === 'reverted').length;
    const base = cells.get(family) ?? { status: 'done', text: 'done' };
    if (failed) {
      cells.set(family, { status: 'failed', text: `failed ${failed.id.split('/')[1]}` });
      continue;
    }
    const delta = [applied > 0 ? `+${applied}` : '', reverted > 0 ? `-${reverted}` : '']
      .filter(Boolean)
      .join(' ');
    cells.set(family, { status: base.status, text: [base.text, delta].filter(Boolean).join(' ') });
  }
  return cells;
}

/** Every family any target has a cell for, in first-seen order. */
export function matrixFamilies(results: TargetResult[]): string[] {
  const seen = new Set<string>();
  for (const r of results) for (const f of familyCells(r).keys()) seen.add(f);
  return [...seen];
}

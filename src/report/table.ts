import Table from 'cli-table3';
import type { SkewAnalysis } from '../checks/skew.js';
import { skewHistogram } from './checks.js';
import { plainStyle, type Style } from './style.js';
import type { Report, ReportItem } from './types.js';

export interface TableOptions {
  /** Colour on (only when stdout is a TTY and colour was not turned off): adds the histogram. */
  color: boolean;
  /** How statuses are coloured: loadStyle(color). Default: no colour codes. */
  style?: Style;
  /** Total width to fit; default 80. */
  width?: number;
}

interface Column {
  head: string;
  width: number;
  cell: (item: ReportItem) => string;
}

/** Human report: a summary line, notes, and one table of items, readable at 80 columns. */
export function renderTable(report: Report, options: TableOptions): string {
  const c = options.style ?? plainStyle;
  const lines = [summaryLine(report, c)];
  for (const note of report.notes ?? []) lines.push(note);
  // The skew histogram only on a terminal (colour on means stdout is a TTY): it is a picture.
  if (options.color)
    lines.push(...skewHistograms(report, c, options.width ?? process.stdout.columns ?? 80));
  if (report.items.length > 0) {
    const columns = columnsFor(report, c, options.width ?? 80);
    const table = new Table({
      head: columns.map((col) => col.head),
      colWidths: columns.map((col) => col.width),
      wordWrap: true,
      wrapOnWordBoundary: true,
      style: { head: options.color ? ['bold'] : [], border: [], compact: true },
    });
    for (const item of report.items) table.push(columns.map((col) => col.cell(item)));
    lines.push(table.toString());
  }
  return `${lines.join('\n')}\n`;
}

/** Worst first in the summary line; statuses not listed come last. */
const STATUS_ORDER = ['error', 'failed', 'fail', 'warn', 'changed', 'pending', 'ok', 'skipped'];

function summaryLine(report: Report, c: Style): string {
  const counts = new Map<string, number>();
  for (const item of report.items) counts.set(item.status, (counts.get(item.status) ?? 0) + 1);
  const rank = (s: string) =>
    (STATUS_ORDER.indexOf(s) + STATUS_ORDER.length + 1) % (STATUS_ORDER.length + 1);
  const parts = [...counts]
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([status, n]) => `${n} ${status}`);
  const status = paint(c, report.status, report.status.toUpperCase());
  const tally = parts.length > 0 ? parts.join(', ') : `no ${report.kind}`;
  return `${status} ${report.command}: ${tally} (${formatMs(report.durationMs)})`;
}

export function paint(c: Style, status: string, text: string): string {
  if (['fail', 'failed', 'error'].includes(status)) return c.red(text);
  if (['warn', 'changed', 'pending', 'missing-file', 'partial'].includes(status))
    return c.yellow(text);
  if (['skipped', 'planned'].includes(status)) return c.gray(text);
  return c.green(text);
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function num(value: number | null | undefined): string {
  return value === undefined || value === null ? '-' : String(value);
}

function columnsFor(report: Report, c: Style, width: number): Column[] {
  const status: Column = {
    head: 'STATUS',
    width: 9,
    cell: (i) => paint(c, i.notOk ? 'fail' : i.status, i.status),
  };
  const rest = (used: number) => Math.max(20, width - used - 1);
  if (report.kind === 'checks') {
    return [
      status,
      { head: 'CHECK', width: 30, cell: (i) => i.id },
      { head: 'COUNT', width: 7, cell: (i) => num(i.count) },
      { head: 'DETAIL', width: rest(9 + 30 + 7 + 4), cell: checkDetail },
    ];
  }
  if (report.kind === 'migrations') {
    const when = (i: ReportItem) =>
      i.details?.appliedAt !== undefined
        ? String(i.details.appliedAt)
        : i.numbers?.durationMs !== undefined
          ? `${i.numbers.durationMs} ms`
          : '';
    return [
      { ...status, width: 10 },
      { head: 'MIGRATION', width: 47, cell: (i) => i.id },
      { head: 'APPLIED / TOOK', width: rest(10 + 47 + 3), cell: when },
    ];
  }
  return [
    status,
    { head: 'TARGET', width: 20, cell: (i) => i.id },
    { head: 'INSERTED', width: 10, cell: (i) => num(i.numbers?.inserted) },
    { head: 'UPDATED', width: 10, cell: (i) => num(i.numbers?.updated) },
    { head: 'DELETED', width: 10, cell: (i) => num(i.numbers?.deleted) },
    { head: 'MS', width: rest(9 + 20 + 30 + 6), cell: (i) => num(i.numbers?.durationMs) },
  ];
}

/** ok rows stay one line; findings show what was found, a sample, and the fix. */
function checkDetail(item: ReportItem): string {
  if (item.status === 'ok') return '';
  const lines = [item.status === 'skipped' ? '' : (item.title ?? '')];
  if (item.message) lines.push(item.message);
  if (item.sample && item.sample.length > 0) lines.push(`e.g. ${item.sample.join(', ')}`);
  if (item.hint && item.status !== 'ok' && item.status !== 'skipped')
    lines.push(`fix: ${item.hint}`);
  return lines.filter((l) => l !== '').join('\n');
}

function skewHistograms(report: Report, c: Style, width: number): string[] {
  return report.items.flatMap((i) =>
    i.details?.skew ? skewHistogram(i.details.skew as SkewAnalysis, c, width) : [],
  );
}

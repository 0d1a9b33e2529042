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
      style: { head: options.color ? ['bold'] : [], border: [], compact: true },
    });
    const widths = columns.map((col) => col.width);
    for (const item of report.items) {
      table.push(
        ...tableRows(
          columns.map((col) => col.cell(item)),
          widths,
        ),
      );
    }
    lines.push(table.toString());
  }
  return `${lines.join('\n')}\n`;
}

/**
 * One item's cells as rows of a compact table without wordWrap, drawn exactly as cli-table3's
 * own word wrap (on word boundaries) draws the item in columns `widths` wide. cli-table3 draws a
 * multi-line cell slowly: for every line it draws it measures the whole cell again, a character
 * at a time, with string-width's two regexes per measure (for a debug message): about 20 ms for
 * one finding with its fix. So plain ASCII text, one column per character, is wrapped here (the
 * same greedy split on whitespace: the same lines) and each line goes in a row of its own (a
 * compact table draws no rule between rows: the same picture). An item with text that is not
 * plain ASCII (wide characters, colour codes that need wrapping) is one row that cli-table3
 * wraps itself.
 */
export function tableRows(cells: string[], widths: number[]): Table.Cell[][] {
  const lines = cells.map((text, i) => wrapped(text, widths[i]!));
  if (lines.some((l) => l === undefined)) {
    return [cells.map((content) => ({ content, wordWrap: true, wrapOnWordBoundary: true }))];
  }
  const height = Math.max(1, ...lines.map((l) => l!.length));
  return Array.from({ length: height }, (_, row) => lines.map((l) => l![row] ?? ''));
}

// cli-table3's default cell padding: one space each side.
const PADDING = 2;
// Colour codes as the report's styles write them (SGR): no width.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what it matches
const SGR = /\u001b\[[0-9;]*m/g;

/** The lines cli-table3's word wrap makes of `text`, or undefined when it is not plain ASCII. */
function wrapped(text: string, width: number): string[] | undefined {
  const max = width - PADDING;
  const visible = text.replace(SGR, '');
  if (!/^[\x20-\x7e\n]*$/.test(visible)) return undefined;
  // Coloured text (a status) is left whole when it fits; wrapping it would split the codes.
  if (visible !== text) return visible.includes('\n') || visible.length > max ? undefined : [text];
  return text.split('\n').flatMap((line) => wrapLine(line, max));
}

/** cli-table3's wordWrap (utils.js) with string length as the width. */
function wrapLine(input: string, max: number): string[] {
  const lines: string[] = [];
  const split = input.split(/(\s+)/g);
  let line: string[] = [];
  let lineLength = 0;
  let whitespace: string | undefined;
  for (let i = 0; i < split.length; i += 2) {
    const word = split[i]!;
    let newLength = lineLength + word.length;
    if (lineLength > 0 && whitespace) newLength += whitespace.length;
    if (newLength > max) {
      if (lineLength !== 0) lines.push(line.join(''));
      line = [word];
      lineLength = word.length;
    } else {
      line.push(whitespace || '', word);
      lineLength = newLength;
    }
    whitespace = split[i + 1];
  }
  if (lineLength) lines.push(line.join(''));
  return lines;
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

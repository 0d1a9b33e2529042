import Table from 'cli-table3';
import type { RssMethod } from './cli.js';

/** One operation's numbers, as printed and as written to the JSON file. */
export interface OperationResult {
  id: string;
  family: string;
  title: string;
  units: { count: number; label: string };
  /** cli: dbops as a process (start-up subtracted in `ratio`); sql: SQL vs SQL; fn: timed by the family. */
  kind: 'cli' | 'sql' | 'fn';
  subject: {
    ms: number;
    runsMs: number[];
    peakRssKb?: number;
    command: string;
    /** Median `dbops --version` time sampled next to this operation's runs (subtracted). */
    startupMs?: number;
    startupRunsMs?: number[];
    /** Per-run numbers of an fn side (e.g. reservations/s). */
    statsByRun?: Record<string, number>[];
  };
  baseline: {
    ms: number;
    runsMs: number[];
    sql: string;
    paramsNote?: string;
    statsByRun?: Record<string, number>[];
  };
  /** cli: (dbops - start-up) / baseline; sql: subject / baseline. Null when dbops took no longer than its start-up. */
  ratio: number | null;
  /** subject / baseline with nothing subtracted. */
  rawRatio: number;
  target?: number;
  met?: boolean;
  /** units per second of the subject's wall time (start-up included). */
  rowsPerSec: number;
  /** Peak RSS of the same dbops command on the smaller data set (memory must stay flat). */
  smallRun?: { rows: number; peakRssKb: number };
}

export interface BenchResult {
  schemaVersion: 1;
  startedAt: string;
  durationMs: number;
  rows: number;
  memoryRows: number;
  reps: number;
  families: string[];
  startup: { command: string; ms: number; runsMs: number[]; peakRssKb?: number };
  rssMethod: RssMethod;
  ratioDefinition: string;
  machine: {
    cpus: number;
    loadAvgStart: number[];
    loadAvgEnd: number[];
    node: string;
    server: string;
  };
  operations: OperationResult[];
}

export const RATIO_DEFINITION =
  'ratio = (dbops wall time - CLI start-up) / baseline for dbops commands, start-up being the ' +
  'median `dbops --version` time sampled right before each dbops run of that operation (column ' +
  '"start-up"; a fixed per-process cost, not per row; raw keeps it); subject / baseline for ' +
  'SQL-vs-SQL rows. Times are medians; SQL runs in a fresh session (connect included), as ' +
  '`psql -c` would: a new backend pays first-touch costs a warm one does not.';

const ms = (x: number) => (x >= 100 ? Math.round(x).toString() : x.toFixed(1));
const mb = (kb: number | undefined) => (kb === undefined ? '-' : (kb / 1024).toFixed(0));

/** The human table: one row per operation, with the start-up and the ratio definition above it. */
export function renderBench(result: BenchResult): string {
  const lines = [
    `dbops bench: ${result.rows} source rows per family (${result.families.join(', ')}), median of ${result.reps}, ${result.machine.cpus} cores, load ${result.machine.loadAvgStart.map((l) => l.toFixed(1)).join(' ')}`,
    `CLI start-up (${result.startup.command}, before the first operation): ${ms(result.startup.ms)} ms, peak RSS ${mb(result.startup.peakRssKb)} MB (${result.rssMethod === 'rusage' ? 'ru_maxrss via /usr/bin/time' : 'VmHWM polled, a lower bound'})`,
    RATIO_DEFINITION,
  ];
  const table = new Table({
    head: [
      'operation',
      'work',
      'dbops ms',
      'start-up',
      'baseline ms',
      'ratio',
      'raw',
      'target',
      'rows/s',
      `RSS MB`,
      `RSS MB @${result.memoryRows}`,
    ],
    style: { head: [], border: [], compact: true },
  });
  for (const op of result.operations) {
    table.push([
      op.id,
      `${op.units.count} ${op.units.label}`,
      `${ms(op.subject.ms)}${op.kind === 'cli' ? '' : ` (${op.kind})`}`,
      op.subject.startupMs === undefined ? '' : ms(op.subject.startupMs),
      ms(op.baseline.ms),
      op.ratio === null ? 'n/a' : `${op.ratio.toFixed(2)}x`,
      op.kind === 'cli' ? `${op.rawRatio.toFixed(2)}x` : '',
      op.target === undefined
        ? ''
        : `<=${op.target} ${op.met === undefined ? '?' : op.met ? 'ok' : 'MISSED'}`,
      Math.round(op.rowsPerSec).toString(),
      mb(op.subject.peakRssKb),
      op.smallRun ? mb(op.smallRun.peakRssKb) : '',
    ]);
  }
  lines.push(table.toString());
  for (const op of result.operations) {
    const stats = (runs: Record<string, number>[] | undefined) =>
      runs
        ?.map((r) =>
          Object.entries(r)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        )
        .join(' | ');
    if (op.subject.statsByRun || op.baseline.statsByRun)
      lines.push(
        `${op.id}: dbops [${stats(op.subject.statsByRun) ?? ''}] baseline [${stats(op.baseline.statsByRun) ?? ''}]`,
      );
  }
  const ids = (met: boolean | undefined) =>
    result.operations.filter((op) => op.target !== undefined && op.met === met).map((op) => op.id);
  lines.push(`targets missed: ${ids(false).join(', ') || 'none'}`);
  if (ids(undefined).length > 0)
    lines.push(`no ratio (dbops took no longer than its start-up): ${ids(undefined).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

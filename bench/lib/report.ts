import Table from 'cli-table3';
import type { RssMethod } from './cli.js';
import type { RunRecord } from './measure.js';

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
    /** Median of dbops' own work (the JSON report's durationMs: after connect, before output). */
    workMs?: number;
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
  /**
   * The headline (issue 21): subject / baseline with nothing subtracted, i.e. the whole dbops
   * process against the best statement in a fresh session. The target is judged on this.
   */
  ratio: number;
  /** cli: (dbops - start-up) / baseline; null when dbops took no longer than its start-up. */
  netRatio: number | null;
  target?: number;
  met?: boolean;
  /** What a remaining gap buys, with the measured figure. */
  note?: string;
  /** Every timed run of both sides, in the order they ran. */
  runs: RunRecord[];
  /** units per second of the subject's wall time (start-up included). */
  rowsPerSec: number;
  /** Peak RSS of the same dbops command on the smaller data set (memory must stay flat). */
  smallRun?: { rows: number; peakRssKb: number };
}

export interface BenchResult {
  schemaVersion: 2;
  startedAt: string;
  durationMs: number;
  rows: number;
  memoryRows: number;
  reps: number;
  families: string[];
  startup: { command: string; ms: number; runsMs: number[]; peakRssKb?: number };
  /** dbops' fixed cost of a database command: `check schema` on an empty database minus --version. */
  dbCommand?: { command: string; ms: number; runsMs: number[]; fixedMs: number };
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
  'ratio = whole dbops process wall time (spawn to exit, start-up included) / the best ' +
  "hand-written SQL in a fresh session (connect included, as `psql -c` would, minus psql's own " +
  '~10 ms process start: the ratio is the stricter for it); subject / baseline for SQL-vs-SQL ' +
  'and worker rows. The target is judged on it. "net" subtracts the median `dbops --version` ' +
  'time sampled right before each dbops run (column "start-up"), to show how much of a gap is ' +
  'the fixed per-process cost. Times are medians; the JSON keeps every run with its load.';

const ms = (x: number) => (x >= 100 ? Math.round(x).toString() : x.toFixed(1));
const mb = (kb: number | undefined) => (kb === undefined ? '-' : (kb / 1024).toFixed(0));

/** The human table: one row per operation, with the start-up and the ratio definition above it. */
export function renderBench(result: BenchResult): string {
  const lines = [
    `dbops bench: ${result.rows} source rows per family (${result.families.join(', ')}), median of ${result.reps}, ${result.machine.cpus} cores, load ${result.machine.loadAvgStart.map((l) => l.toFixed(1)).join(' ')}`,
    `CLI start-up (${result.startup.command}, before the first operation): ${ms(result.startup.ms)} ms, peak RSS ${mb(result.startup.peakRssKb)} MB (${result.rssMethod === 'rusage' ? 'ru_maxrss via /usr/bin/time' : 'VmHWM polled, a lower bound'})`,
    ...(result.dbCommand
      ? [
          `fixed cost of a database command (${result.dbCommand.command} on an empty database, minus --version): ${ms(result.dbCommand.fixedMs)} ms (target <= 30)`,
        ]
      : []),
    RATIO_DEFINITION,
  ];
  const table = new Table({
    head: [
      'operation',
      'work',
      'ratio',
      'target',
      'dbops ms',
      'baseline ms',
      'start-up',
      'net',
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
      `${op.ratio.toFixed(2)}x`,
      op.target === undefined ? '' : `<=${op.target} ${op.met ? 'ok' : 'MISSED'}`,
      `${ms(op.subject.ms)}${op.kind === 'cli' ? '' : ` (${op.kind})`}`,
      ms(op.baseline.ms),
      op.subject.startupMs === undefined ? '' : ms(op.subject.startupMs),
      op.kind !== 'cli' ? '' : op.netRatio === null ? 'n/a' : `${op.netRatio.toFixed(2)}x`,
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
  lines.push('where the dbops time goes (medians; fixed = connect, session, history, report):');
  for (const op of result.operations) {
    const { startupMs, workMs } = op.subject;
    if (startupMs === undefined || workMs === undefined) continue;
    const fixed = op.subject.ms - startupMs - workMs;
    lines.push(
      `  ${op.id}: ${ms(op.subject.ms)} = start-up ${ms(startupMs)} + fixed ${ms(fixed)} + work ${ms(workMs)}; baseline ${ms(op.baseline.ms)} (work/baseline ${(workMs / op.baseline.ms).toFixed(2)}x)`,
    );
  }
  for (const op of result.operations) if (op.note) lines.push(`${op.id}: ${op.note}`);
  return `${lines.join('\n')}\n`;
}

import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDbops } from './cli.js';
import type { BenchContext, BenchOperation, RunOutput, Side, SideName, SqlSide } from './types.js';

/** An empty working directory, so a dbops.config.* lying around never changes what is measured. */
const CLI_CWD = mkdtempSync(join(tmpdir(), 'dbops-bench-cwd-'));

/** Timings of one operation: every run of each side, and their medians. */
export interface OperationTimes {
  subject: RunOutput[];
  baseline: RunOutput[];
  /** `dbops --version` wall times, one right before each dbops run (CLI subjects only). */
  startupMs: number[];
  /** Every timed run in the order it ran, with the 1-minute load average when it started. */
  runs: RunRecord[];
}

/** One timed run as the JSON keeps it. */
export interface RunRecord {
  rep: number;
  side: SideName;
  ms: number;
  /** The `dbops --version` time sampled right before this run (CLI subjects). */
  startupMs?: number;
  /** dbops' own work (the JSON report's durationMs), CLI subjects. */
  workMs?: number;
  load1: number;
  peakRssKb?: number;
  stats?: Record<string, number>;
}

/**
 * Runs an operation `reps` times per side, alternating which side goes first (ABBA...) so that
 * slow drift of the machine (other load, table growth, caches) does not favour one side. Every
 * run starts from the same state (`reset`) and is checked (`verify`); both are untimed. Before
 * each dbops run, `dbops --version` is timed too: the start-up cost subtracted for this operation.
 * `sides` limits the runs to one side (the memory run times only dbops).
 */
export async function measureOperation(
  ctx: BenchContext,
  op: BenchOperation,
  reps: number,
  sides: SideName[] = ['baseline', 'subject'],
): Promise<OperationTimes> {
  await op.setup?.(ctx);
  const times: OperationTimes = { subject: [], baseline: [], startupMs: [], runs: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      await op.reset?.(ctx, side);
      // The CLI's start-up cost moves with the machine's load: sample it next to each run.
      let startupMs: number | undefined;
      if (side === 'subject' && op.subject.kind === 'cli') {
        startupMs = (await runDbops(['--version'], ctx.db.url, { cwd: CLI_CWD })).ms;
        times.startupMs.push(startupMs);
      }
      const load1 = loadavg()[0]!;
      const output = await runSide(ctx, side === 'subject' ? op.subject : op.baseline);
      await op.verify?.(ctx, side, output);
      times[side].push(output);
      times.runs.push({
        rep,
        side,
        ms: output.ms,
        ...(startupMs === undefined ? {} : { startupMs }),
        load1,
        ...(output.peakRssKb ? { peakRssKb: output.peakRssKb } : {}),
        ...(output.workMs === undefined ? {} : { workMs: output.workMs }),
        ...(output.stats ? { stats: output.stats } : {}),
      });
    }
  }
  return times;
}

/** Times one side: a dbops process (wall time, peak RSS) or SQL in a fresh session. */
export async function runSide(ctx: BenchContext, side: Side): Promise<RunOutput> {
  if (side.kind === 'cli') {
    const run = await runDbops(side.args, ctx.db.url, { cwd: CLI_CWD });
    const ok = side.okCodes ?? [0];
    if (run.code === null || !ok.includes(run.code)) {
      throw new Error(
        `dbops ${side.args.join(' ')} exited ${run.code} (expected ${ok.join(' or ')}):\n${run.stderr}${run.stdout}`,
      );
    }
    const workMs = reportDuration(run.stdout);
    return {
      ms: run.ms,
      stdout: run.stdout,
      ...(run.peakRssKb ? { peakRssKb: run.peakRssKb } : {}),
      ...(workMs === undefined ? {} : { workMs }),
    };
  }
  if (side.kind === 'fn') return side.run(ctx);
  return runSql(ctx, side);
}

/**
 * SQL sides run in a fresh session, as `psql -c` would, connection included: dbops always starts
 * a new backend, which pays first-touch costs (catalog and plan caches, the first use of each
 * function) that a warm session has already paid. Timing the baseline on a reused connection
 * made a 280 ms query look 1.6x slower than a 225 ms one that was in truth 1.2x.
 */
async function runSql(ctx: BenchContext, side: SqlSide): Promise<RunOutput> {
  const repeat = side.repeat ?? 1;
  // Parameters are built before the clock starts: only the database work is timed.
  const params = Array.from({ length: repeat }, (_, i) => side.params?.(i));
  let rows: Record<string, unknown>[] = [];
  const started = performance.now();
  const session = await ctx.db.connect();
  try {
    for (let i = 0; i < repeat; i++) {
      const result = await session.query(side.sql, params[i]);
      rows = result.rows;
    }
    return { ms: performance.now() - started, rows };
  } finally {
    await session.end();
  }
}

/** The durationMs of a `--format json` report, if the output is one. */
function reportDuration(stdout: string): number | undefined {
  try {
    const ms = (JSON.parse(stdout) as { durationMs?: unknown }).durationMs;
    return typeof ms === 'number' ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

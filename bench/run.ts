/**
 * `npm run bench`: every heavy dbops operation against the best hand-written SQL, as ratios,
 * in one run. Each family (bench/ops/<family>.ts) builds its data in its own throwaway database.
 *
 *   node dist/bench/run.js [--rows 1000000] [--family lookup]... [--reps 3]
 *                          [--memory-rows <rows/10>] [--out bench/results] [--only <id-prefix>]...
 *
 * Prints one table (stdout; progress on stderr) and writes bench/results/<timestamp>.json.
 * Exits 1 when an operation failed or did not do its job (verification), not when a target is
 * missed (the table says so): absolute times on a shared machine are too noisy to gate on.
 * Exits 2 on a usage error. Every database it creates is dropped, whatever happens.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rssMethod, runDbops } from './lib/cli.js';
import { createBenchDatabase } from './lib/db.js';
import { measureOperation, median } from './lib/measure.js';
import {
  type BenchResult,
  type OperationResult,
  RATIO_DEFINITION,
  renderBench,
} from './lib/report.js';
import type { BenchContext, BenchFamily, BenchOperation, RunOutput } from './lib/types.js';
import { BENCH_FAMILIES } from './ops/index.js';

const USAGE = `usage: node dist/bench/run.js [--rows 1000000] [--family <name>]... [--reps 3]
                              [--memory-rows <rows/10>] [--out bench/results]
                              [--only <operation id prefix, e.g. checkpoint.resync>]...
families: ${Object.keys(BENCH_FAMILIES).join(', ')}`;
const { values } = parseCommandLine();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const rows = positiveInt('--rows', values.rows);
const reps = positiveInt('--reps', values.reps);
const memoryRows =
  values['memory-rows'] === undefined
    ? Math.round(rows / 10)
    : positiveInt('--memory-rows', values['memory-rows'], 0);
const names = (values.family ?? Object.keys(BENCH_FAMILIES)).flatMap((f) => f.split(','));
const families = names.map((name) => {
  const family = BENCH_FAMILIES[name];
  if (!family) fail(`--family ${name}: unknown (known: ${Object.keys(BENCH_FAMILIES).join(', ')})`);
  return family;
});
/** --only: operations whose id starts with one of these (all when none is given). */
const only = (values.only ?? []).flatMap((o) => o.split(','));
const isSelected = (op: BenchOperation) =>
  only.length === 0 || only.some((prefix) => op.id.startsWith(prefix));
/** A family is seeded only when --only can select one of its operations (ids are `<family>.<op>`). */
const familyWanted = (family: BenchFamily) =>
  only.length === 0 ||
  only.some((p) => `${family.name}.`.startsWith(p) || p.startsWith(`${family.name}.`));
/**
 * The operations to run, in the family's order, up to the last one selected: an operation's setup
 * may build on the state an earlier one left (partition.resync on the key check's drift, say), so
 * the earlier ones run too, once and unrecorded (`record` false).
 */
function plan(ops: BenchOperation[]): { op: BenchOperation; record: boolean }[] {
  const last = ops.findLastIndex(isSelected);
  return ops.slice(0, last + 1).map((op) => ({ op, record: isSelected(op) }));
}
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const started = new Date();
const loadAvgStart = loadavg();
const startup = await measureStartup();
log(`CLI start-up: ${startup.ms.toFixed(0)} ms`);
const dbCommand = await measureDbCommand();
log(`fixed cost of a database command: ${dbCommand.fixedMs.toFixed(0)} ms`);
const operations: OperationResult[] = [];
let server = '';
/** What is running, for the message when something fails (then the bench exits 1). */
let current = '';
try {
  for (const family of families.filter(familyWanted)) {
    const small = memoryRows > 0 ? await memoryRun(family) : new Map<string, number>();
    current = `${family.name} (preparing ${rows} ${family.rowsLabel})`;
    await withFamilyDatabase(family, rows, async (ctx, ops) => {
      server ||= String((await ctx.client.query('SHOW server_version')).rows[0].server_version);
      for (const { op, record } of plan(ops)) {
        current = op.id;
        if (!record) {
          log(`${op.id}: run once, unrecorded (a later operation's setup builds on it)`);
          await measureOperation(ctx, op, 1);
          continue;
        }
        log(`${op.id}: ${reps} run(s) per side`);
        operations.push(await timeOperation(ctx, family, op, small.get(op.id)));
      }
    });
  }
} catch (err) {
  fail(`${current}: ${err instanceof Error ? err.message : String(err)}`, 1);
}

const result: BenchResult = {
  schemaVersion: 2,
  startedAt: started.toISOString(),
  durationMs: Date.now() - started.getTime(),
  rows,
  memoryRows,
  reps,
  families: families.map((f) => f.name),
  startup,
  dbCommand,
  rssMethod,
  ratioDefinition: RATIO_DEFINITION,
  machine: {
    cpus: cpus().length,
    loadAvgStart,
    loadAvgEnd: loadavg(),
    node: process.version,
    server,
  },
  operations,
};
mkdirSync(values.out!, { recursive: true });
const file = join(values.out!, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(renderBench(result));
log(`results: ${file}`);

/** `dbops --version` loads the whole CLI (every command module) and exits: the fixed cost. */
async function measureStartup(): Promise<BenchResult['startup']> {
  const runs = [];
  for (let i = 0; i < 7; i++) runs.push(await runDbops(['--version'], ''));
  if (runs.some((r) => r.code !== 0)) fail(`dbops --version failed: ${runs[0]!.stderr}`, 1);
  const rss = runs.map((r) => r.peakRssKb ?? 0);
  return {
    command: 'dbops --version',
    ms: median(runs.map((r) => r.ms)),
    runsMs: runs.map((r) => r.ms),
    ...(rss[0] ? { peakRssKb: Math.max(...rss) } : {}),
  };
}

/**
 * The fixed cost of a command that connects: `check schema` on an empty database (it connects,
 * sets up the session, reads the families and their history, finds nothing applied and exits 1)
 * interleaved with `--version`; the difference of the medians.
 */
async function measureDbCommand(): Promise<NonNullable<BenchResult['dbCommand']>> {
  const db = await createBenchDatabase('fixed');
  try {
    const version: number[] = [];
    const check: number[] = [];
    for (let i = 0; i < 7; i++) {
      version.push((await runDbops(['--version'], db.url)).ms);
      const run = await runDbops(['check', 'schema'], db.url);
      if (run.code !== 0 && run.code !== 1) fail(`dbops check schema failed: ${run.stderr}`, 1);
      check.push(run.ms);
    }
    const ms = median(check);
    return { command: 'dbops check schema', ms, runsMs: check, fixedMs: ms - median(version) };
  } finally {
    await db.drop();
  }
}

/** One throwaway database per family and size; always dropped. */
async function withFamilyDatabase(
  family: BenchFamily,
  size: number,
  body: (ctx: BenchContext, ops: BenchOperation[]) => Promise<void>,
): Promise<void> {
  const db = await createBenchDatabase(family.name);
  try {
    const ctx: BenchContext = { db, client: db.client, rows: size, log };
    const t = performance.now();
    const ops = await family.prepare(ctx);
    log(
      `${family.name}: ${size} ${family.rowsLabel} ready in ${Math.round(performance.now() - t)} ms`,
    );
    await body(ctx, ops);
  } finally {
    await db.drop();
  }
}

/**
 * The same dbops commands on `memoryRows` source rows, once each, for their peak RSS: memory
 * must not grow with the data (dbops streams or batches, never holds a table).
 */
async function memoryRun(family: BenchFamily): Promise<Map<string, number>> {
  current = `${family.name} (preparing ${memoryRows} ${family.rowsLabel})`;
  const peaks = new Map<string, number>();
  await withFamilyDatabase(family, memoryRows, async (ctx, ops) => {
    for (const { op, record } of plan(ops)) {
      if (op.subject.kind !== 'cli') continue;
      current = `${op.id} (memory run)`;
      log(`${op.id}: memory run on ${memoryRows} ${family.rowsLabel}`);
      const times = await measureOperation(ctx, op, 1, ['subject']);
      if (!record) continue;
      const kb = times.subject[0]?.peakRssKb;
      if (kb) peaks.set(op.id, kb);
    }
  });
  return peaks;
}

async function timeOperation(
  ctx: BenchContext,
  family: BenchFamily,
  op: BenchOperation,
  smallRssKb: number | undefined,
): Promise<OperationResult> {
  const times = await measureOperation(ctx, op, reps);
  const subjectMs = median(times.subject.map((r) => r.ms));
  const baselineMs = median(times.baseline.map((r) => r.ms));
  const kind = op.subject.kind;
  const startupMs = times.startupMs.length > 0 ? median(times.startupMs) : startup.ms;
  // The headline: what a user waits for (the whole dbops process) over the best statement in a
  // fresh session. The start-up-subtracted ratio is kept beside it, to show where a gap lies.
  const ratio = subjectMs / baselineMs;
  // A dbops run no longer than its start-up did no measurable work beyond it: no net ratio.
  const net = kind === 'cli' ? subjectMs - startupMs : subjectMs;
  const netRatio = net > 0 ? net / baselineMs : null;
  const rss = times.subject.map((r) => r.peakRssKb ?? 0);
  const stats = (runs: RunOutput[]) =>
    runs.some((r) => r.stats) ? { statsByRun: runs.map((r) => r.stats ?? {}) } : {};
  return {
    id: op.id,
    family: family.name,
    title: op.title,
    units: op.units,
    kind,
    subject: {
      ms: subjectMs,
      runsMs: times.subject.map((r) => r.ms),
      ...(rss[0] ? { peakRssKb: Math.max(...rss) } : {}),
      command:
        op.subject.kind === 'cli' ? `dbops ${op.subject.args.join(' ')}` : op.subject.sql.trim(),
      ...(kind === 'cli' ? { startupMs, startupRunsMs: times.startupMs } : {}),
      ...(times.subject.every((r) => r.workMs !== undefined)
        ? { workMs: median(times.subject.map((r) => r.workMs!)) }
        : {}),
      ...stats(times.subject),
    },
    baseline: {
      ms: baselineMs,
      runsMs: times.baseline.map((r) => r.ms),
      sql: op.baseline.sql.trim(),
      ...(op.baseline.kind === 'sql' && op.baseline.paramsNote
        ? { paramsNote: op.baseline.paramsNote }
        : {}),
      ...stats(times.baseline),
    },
    ratio,
    netRatio,
    ...(op.target === undefined ? {} : { target: op.target, met: ratio <= op.target }),
    ...(op.note === undefined
      ? {}
      : { note: typeof op.note === 'string' ? op.note : op.note(subjectMs, baselineMs) }),
    runs: times.runs,
    rowsPerSec: op.units.count / (subjectMs / 1000),
    ...(smallRssKb ? { smallRun: { rows: memoryRows, peakRssKb: smallRssKb } } : {}),
  };
}

function positiveInt(flag: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    fail(`${flag} ${value}: expected a whole number >= ${min}`);
  return n;
}

/** The flags, or exit 2 with the usage on an unknown flag or a missing value. */
function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        help: { type: 'boolean', short: 'h' },
        rows: { type: 'string', default: '1000000' },
        family: { type: 'string', multiple: true },
        only: { type: 'string', multiple: true },
        reps: { type: 'string', default: '3' },
        'memory-rows': { type: 'string' },
        out: {
          type: 'string',
          default: fileURLToPath(new URL('../../bench/results', import.meta.url)),
        },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`);
  }
}

/** Exit 2: bad usage; exit 1: an operation failed or did not do its job. */
function fail(message: string, code = 2): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(code);
}

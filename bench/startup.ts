/**
 * Start-up and fixed per-command cost of the CLI, timed as whole processes (spawn to exit):
 * `node -e 0` (the floor), `dbops --version`, `dbops --help`, `dbops migrate status` and
 * `dbops check schema` on an empty database, and `dbops check consistency lookup` on a small
 * applied lookup database (2,000 messages: the fixed cost where users pay it, the four checks'
 * SQL included). All with the default table output. The commands run interleaved, one of each per
 * round, so that load from other processes on the machine hits them alike; medians are printed.
 *
 *   npm run build && node dist/bench/startup.js [--runs 15] [--baseline <other>/bin/dbops.js]
 *
 * --baseline times another build's dbops in the same rounds (e.g. the commit before a change).
 *
 * Targets (issue 21): --version and --help at most 120 ms or 1.6x `node -e 0`; the fixed cost of
 * a database command at most 30 ms. That cost is printed two ways: whole-process (the command's
 * median minus --version's: loading pg and the command's modules, connect, session set-up,
 * history read, report) and in-process, as the issue defines it (connect, session settings,
 * family and history reads: from the connection's start to the history read's answer, timed by
 * bench/lib/pgTimer.ts in extra runs; a statement's time there includes any wait for the event
 * loop, busy loading the command's modules meanwhile).
 *
 * Next to wall time, the CPU time (user + system) of each process, from /usr/bin/time when it is
 * there: on a machine shared with other load, wall times of ~100 ms processes swing by 2-3x while
 * CPU time barely moves, so the CPU columns show what a change saved (the server's share of a
 * database command, a few ms, is in wall time only).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queenBaseSchemaSql, seedQueen } from '../src/families/lookup/fixture.js';
import { createBenchDatabase } from './lib/db.js';
import { median } from './lib/measure.js';
import type { PgTimes } from './lib/pgTimer.js';

const BIN = fileURLToPath(new URL('../../bin/dbops.js', import.meta.url));
const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(flag('--runs') ?? 15);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs needs a whole number >= 1');
const BASELINE = flag('--baseline');

interface Subject {
  label: string;
  args: string[];
  /** Exit codes that mean the command did its job. */
  ok: number[];
  /** Runs against the applied lookup database instead of the empty one. */
  applied?: boolean;
}

const dbopsSubjects = (bin: string, prefix: string): Subject[] => [
  { label: `${prefix} --version`, args: [bin, '--version'], ok: [0] },
  { label: `${prefix} --help`, args: [bin, '--help'], ok: [0] },
  { label: `${prefix} migrate status`, args: [bin, 'migrate', 'status'], ok: [0] },
  // On an empty database check exits 1: nothing was checked (never green on nothing).
  { label: `${prefix} check schema`, args: [bin, 'check', 'schema'], ok: [0, 1] },
  {
    label: `${prefix} check consistency lookup`,
    args: [bin, 'check', 'consistency', 'lookup'],
    ok: [0],
    applied: true,
  },
];
const DB_COMMANDS = ['migrate status', 'check schema', 'check consistency lookup'];

const SUBJECTS: Subject[] = [
  { label: 'node -e 0', args: ['-e', '0'], ok: [0] },
  ...dbopsSubjects(BIN, 'dbops'),
  ...(BASELINE ? dbopsSubjects(BASELINE, 'baseline') : []),
];

const GNU_TIME = (() => {
  try {
    accessSync('/usr/bin/time', constants.X_OK);
    return '/usr/bin/time';
  } catch {
    return undefined;
  }
})();
const TIME_DIR = mkdtempSync(join(tmpdir(), 'dbops-startup-'));

/** Wall time of one whole process and its CPU time (user + system; NaN without GNU time), ms. */
function timeProcess(subject: Subject, env: NodeJS.ProcessEnv): { wall: number; cpu: number } {
  const out = join(TIME_DIR, 'cpu');
  const [command, args] = GNU_TIME
    ? [GNU_TIME, ['-f', '%U %S', '-o', out, process.execPath, ...subject.args]]
    : [process.execPath, subject.args];
  const started = performance.now();
  const run = spawnSync(command, args, { env, encoding: 'utf8' });
  const wall = performance.now() - started;
  if (!subject.ok.includes(run.status ?? -1)) {
    throw new Error(`${subject.label} exited ${run.status}: ${run.stderr}`);
  }
  if (!GNU_TIME) return { wall, cpu: Number.NaN };
  // GNU time writes "Command exited with non-zero status N" before the numbers.
  const [user, sys] = readFileSync(out, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wall, cpu: (user! + sys!) * 1000 };
}

const PG_TIMER = fileURLToPath(new URL('./lib/pgTimer.js', import.meta.url));

/** One run of `subject` with the statement timer preloaded: its connect and statement times. */
function pgTimes(subject: Subject, env: NodeJS.ProcessEnv): PgTimes {
  const file = join(TIME_DIR, 'pg-times.json');
  const [bin, ...rest] = subject.args;
  const run = spawnSync(process.execPath, ['--import', PG_TIMER, bin!, ...rest], {
    env: { ...env, DBOPS_BENCH_PG_TIMES: file },
    encoding: 'utf8',
  });
  if (!subject.ok.includes(run.status ?? -1))
    throw new Error(`${subject.label} (timed statements) exited ${run.status}: ${run.stderr}`);
  return JSON.parse(readFileSync(file, 'utf8')) as PgTimes;
}

const db = await createBenchDatabase('startup');
const appliedDb = await createBenchDatabase('startup_lookup');
try {
  const env = { ...process.env, DATABASE_URL: db.url, NO_COLOR: '1' };
  const appliedEnv = { ...env, DATABASE_URL: appliedDb.url };
  await appliedDb.client.query(queenBaseSchemaSql());
  await seedQueen(appliedDb.client, { queues: 2, partitions: 100, messages: 2000 });
  const up = spawnSync(process.execPath, [BIN, 'migrate', 'up', 'lookup'], {
    env: appliedEnv,
    encoding: 'utf8',
  });
  if (up.status !== 0) throw new Error(`migrate up lookup exited ${up.status}: ${up.stderr}`);
  const envOf = (s: Subject) => (s.applied ? appliedEnv : env);
  for (const s of SUBJECTS) timeProcess(s, envOf(s)); // warm the file cache; not counted
  const times = new Map<string, number[]>(SUBJECTS.map((s) => [s.label, []]));
  const cpus = new Map<string, number[]>(SUBJECTS.map((s) => [s.label, []]));
  for (let round = 0; round < RUNS; round++) {
    for (const s of SUBJECTS) {
      const { wall, cpu } = timeProcess(s, envOf(s));
      times.get(s.label)!.push(wall);
      cpus.get(s.label)!.push(cpu);
    }
  }
  const med = (label: string) => median(times.get(label)!);
  // GNU time reports CPU in 10 ms steps: the mean over the runs, not the median, resolves less.
  const cpu = (label: string) => {
    const values = cpus.get(label)!;
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const floor = med('node -e 0');
  // Wall times mean little on a busy machine: say how busy it was.
  const load = loadavg().map((l) => l.toFixed(2));
  console.log(
    `node ${process.version}, ${RUNS} interleaved runs each, median wall ms (min), mean CPU ms; load average ${load.join(' ')}`,
  );
  for (const s of SUBJECTS) {
    const m = med(s.label);
    const min = Math.min(...times.get(s.label)!);
    console.log(
      `${s.label.padEnd(36)} ${m.toFixed(0).padStart(5)} (${min.toFixed(0)})  ${(m / floor).toFixed(2)}x node -e 0  CPU ${cpu(s.label).toFixed(0)}`,
    );
  }
  for (const prefix of BASELINE ? ['dbops', 'baseline'] : ['dbops']) {
    const version = `${prefix} --version`;
    for (const command of DB_COMMANDS) {
      const label = `${prefix} ${command}`;
      const fixed = med(label) - med(version);
      console.log(
        `fixed cost of ${label}: ${fixed.toFixed(0)} ms wall (${fixed <= 30 ? 'within' : 'OVER'} 30 ms), ${(cpu(label) - cpu(version)).toFixed(0)} ms CPU over --version`,
      );
    }
  }
  // The fixed cost as the issue defines it, inside the process: from the connection's start to
  // the answer to the history read (connect, session settings, family and history reads),
  // measured by a preloaded timer (bench/lib/pgTimer.ts) in extra runs that are not timed above.
  for (const command of DB_COMMANDS) {
    const subject = SUBJECTS.find((s) => s.label === `dbops ${command}`)!;
    const parts = { total: [] as number[], connect: [] as number[], statements: [] as number[] };
    let trips = 0;
    for (let round = 0; round < RUNS; round++) {
      const t = pgTimes(subject, envOf(subject));
      const history = t.queries.findIndex(([, , sql]) => sql.includes('query_to_xml'));
      if (t.connectStart === null || t.connected === null || history < 0)
        throw new Error(`dbops ${command}: no connection or history read seen`);
      const upToHistory = t.queries.slice(0, history + 1);
      parts.total.push(upToHistory.at(-1)![1] - t.connectStart);
      parts.connect.push(t.connected - t.connectStart);
      parts.statements.push(upToHistory.reduce((sum, [sent, done]) => sum + done - sent, 0));
      trips = history + 1;
    }
    const [ms, connect, statements] = [parts.total, parts.connect, parts.statements].map(median);
    console.log(
      `in-process fixed cost of dbops ${command}: ${ms!.toFixed(1)} ms (${ms! <= 30 ? 'within' : 'OVER'} 30 ms) from connect to the history read's answer = connect ${connect!.toFixed(1)} + ${trips} statements ${statements!.toFixed(1)} + the rest (the command's own modules loading meanwhile) ${(ms! - connect! - statements!).toFixed(1)}`,
    );
  }
  for (const label of ['dbops --version', 'dbops --help']) {
    const m = med(label);
    const met = m <= 120 || m <= 1.6 * floor;
    console.log(`${label}: ${met ? 'within' : 'OVER'} target (<= 120 ms or <= 1.6x node -e 0)`);
  }
} finally {
  await db.drop();
  await appliedDb.drop();
  rmSync(TIME_DIR, { recursive: true, force: true });
}

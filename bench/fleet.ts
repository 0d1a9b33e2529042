/**
 * Fleet mode scaling: wall time of `dbops check all --targets <file> --parallel p` over many small
 * databases (Queen base tables, lookup family applied), for each p, as whole processes. The
 * settings run interleaved, one of each per round, so load from other processes hits them alike;
 * medians and the speed-up over --parallel 1 are printed.
 *
 *   npm run build && node dist/bench/fleet.js [--databases 100] [--parallel 1,2,4,8] [--rounds 3]
 *                                             [--loop]
 *
 * --loop also times what operators did before fleet mode: one `dbops check all` process per
 * database, one after another (a shell loop).
 *
 * Every database it creates (dbops_bench_fleet_<random>_*) is dropped, whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { quoteIdent } from '../src/db/ident.js';
import { queenBaseSchemaSql, seedQueen } from '../src/families/lookup/fixture.js';
import { runDbops } from './lib/cli.js';
import { benchServerUrl } from './lib/db.js';
import { median } from './lib/measure.js';

const { values } = parseArgs({
  options: {
    databases: { type: 'string', default: '100' },
    parallel: { type: 'string', default: '1,2,4,8' },
    rounds: { type: 'string', default: '3' },
    loop: { type: 'boolean', default: false },
  },
});
const count = Number(values.databases);
const rounds = Number(values.rounds);
const settings = values.parallel.split(',').map(Number);
const log = (m: string) => process.stderr.write(`[bench fleet] ${m}\n`);

const server = benchServerUrl();
const prefix = `dbops_bench_fleet_${randomBytes(3).toString('hex')}`;
const urlOf = (db: string) => {
  const u = new URL(server);
  u.pathname = `/${db}`;
  return u.toString();
};
const admin = new pg.Client({ connectionString: server });
await admin.connect();
const dir = mkdtempSync(join(tmpdir(), 'dbops-bench-fleet-'));
try {
  const seed = `${prefix}_seed`;
  await admin.query(`CREATE DATABASE ${quoteIdent(seed)}`);
  const c = new pg.Client({ connectionString: urlOf(seed) });
  await c.connect();
  await c.query(queenBaseSchemaSql());
  await seedQueen(c, { queues: 5, partitions: 100, messages: 2000 });
  await c.end();
  const up = await runDbops(['migrate', 'up', 'lookup'], urlOf(seed));
  if (up.code !== 0) throw new Error(`migrate up failed: ${up.stderr}`);
  const started = Date.now();
  const names = Array.from({ length: count }, (_, i) => `${prefix}_${String(i).padStart(3, '0')}`);
  for (const name of names)
    await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(seed)}`);
  log(`${count} databases created in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const file = join(dir, 'targets.json');
  writeFileSync(file, JSON.stringify(names.map((n) => ({ name: n, url: urlOf(n) }))));

  const times = new Map<number, number[]>(settings.map((p) => [p, []]));
  const loopTimes: number[] = [];
  let excerpt = '';
  for (let round = 1; round <= rounds; round++) {
    if (values.loop) {
      const t0 = performance.now();
      for (const name of names) {
        const r = await runDbops(['check', 'all'], urlOf(name));
        if (r.code !== 0) throw new Error(`check all on ${name} exited ${r.code}: ${r.stderr}`);
      }
      loopTimes.push(performance.now() - t0);
      log(`round ${round} shell loop: ${(loopTimes.at(-1)! / 1000).toFixed(2)} s`);
    }
    for (const p of settings) {
      const r = await runDbops(
        ['check', 'all', '--targets', file, '--parallel', String(p)],
        server,
      );
      if (r.code !== 0) throw new Error(`check all --parallel ${p} exited ${r.code}: ${r.stderr}`);
      times.get(p)!.push(r.ms);
      excerpt = r.stdout;
      log(`round ${round} --parallel ${p}: ${(r.ms / 1000).toFixed(2)} s`);
    }
  }
  const base = median(times.get(settings[0]!)!);
  const lines = [
    `check all over ${count} databases, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}, median of ${rounds}`,
    '--parallel   wall s   speed-up',
    ...settings.map((p) => {
      const m = median(times.get(p)!);
      return `${String(p).padStart(10)}   ${(m / 1000).toFixed(2).padStart(6)}   ${(base / m).toFixed(2).padStart(8)}`;
    }),
    ...(values.loop
      ? [
          `shell loop   ${(median(loopTimes) / 1000).toFixed(2).padStart(6)}   ${(base / median(loopTimes)).toFixed(2).padStart(8)}   (one process per database)`,
        ]
      : []),
    '',
    'matrix (first and last lines of the last run):',
    ...excerpt.trimEnd().split('\n').slice(0, 6),
    '...',
    ...excerpt.trimEnd().split('\n').slice(-2),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  const { rows } = await admin.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE datname LIKE $1',
    [`${prefix}%`],
  );
  // Each DROP DATABASE waits for a checkpoint; a few at once share them.
  for (let i = 0; i < rows.length; i += 10)
    await Promise.all(
      rows.slice(i, i + 10).map(async (r) => {
        const a = new pg.Client({ connectionString: server });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${quoteIdent(r.datname)} WITH (FORCE)`);
        await a.end();
      }),
    );
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}

// Summarizes a chaos run's JSON lines (CHAOS_RESULTS_DIR, default chaos-results/) into the
// figures docs/reliability.md quotes: kill and restart points per family and how many recovered
// with a plain rerun, transactions and errors per write mix, histories run, violations.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? process.env.CHAOS_RESULTS_DIR ?? 'chaos-results';
const read = (name) => {
  const file = join(dir, `${name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
};

const kills = read('kills');
const lines = [
  '| family | operation | kill points | fired | recovered by a plain rerun | slowest rerun |',
  '|---|---|---|---|---|---|',
];
const groups = new Map();
for (const k of kills) {
  const key = `${k.family}|${k.operation}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(k);
}
for (const [key, ks] of groups) {
  const [family, operation] = key.split('|');
  const fired = ks.filter((k) => k.fired).length;
  const ok = ks.filter((k) => k.recovered).length;
  const slowest = Math.max(...ks.map((k) => k.rerunMs));
  lines.push(
    `| ${family} | ${operation} | ${ks.length} | ${fired} | ${ok} | ${(slowest / 1000).toFixed(1)} s |`,
  );
}
const perFamily = new Map();
for (const k of kills) {
  const f = perFamily.get(k.family) ?? { points: 0, fired: 0, recovered: 0 };
  f.points += 1;
  f.fired += k.fired ? 1 : 0;
  f.recovered += k.recovered ? 1 : 0;
  perFamily.set(k.family, f);
}
lines.push(
  '',
  '| family | kill points | fired before the run ended | recovered |',
  '|---|---|---|---|',
);
for (const [family, f] of perFamily)
  lines.push(`| ${family} | ${f.points} | ${f.fired} | ${f.recovered} |`);

const restarts = read('restarts');
if (restarts.length > 0) {
  lines.push(
    '',
    '| family | operation | restart points | fast / immediate | interrupted the run | recovered by a plain rerun | slowest restart | slowest rerun | writer connections lost |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  const byOp = new Map();
  for (const r of restarts) {
    const key = `${r.family}|${r.operation}`;
    if (!byOp.has(key)) byOp.set(key, []);
    byOp.get(key).push(r);
  }
  for (const [key, rs] of byOp) {
    const [family, operation] = key.split('|');
    const fast = rs.filter((r) => r.mode === 'fast').length;
    const interrupted = rs.filter((r) => r.fired && r.interrupted).length;
    const ok = rs.filter((r) => r.recovered).length;
    const slowestRestart = Math.max(0, ...rs.map((r) => r.restartMs ?? 0));
    const slowest = Math.max(...rs.map((r) => r.rerunMs));
    const lost = rs.reduce((n, r) => n + r.writerConnectionErrors, 0);
    lines.push(
      `| ${family} | ${operation} | ${rs.length} | ${fast} / ${rs.length - fast} | ${interrupted} | ${ok} | ${(slowestRestart / 1000).toFixed(1)} s | ${(slowest / 1000).toFixed(1)} s | ${lost} |`,
    );
  }
}

const mixes = read('mixes');
lines.push(
  '',
  '| family | mix | writers | committed | rolled back | application errors | findings | dbops runs in between |',
  '|---|---|---|---|---|---|---|---|',
);
for (const m of mixes) {
  const app =
    Object.entries(m.appErrors)
      .map(([c, n]) => `${n}x ${c}`)
      .join(', ') || '0';
  lines.push(
    `| ${m.family} | ${m.ms / 1000} s | ${m.writers} | ${m.committed} | ${m.rolledBack} | ${app} | ${m.findings} | ${m.dbopsRuns} |`,
  );
}

const histories = read('histories');
lines.push('', '| family | histories | seed | result |', '|---|---|---|---|');
for (const h of histories)
  lines.push(
    `| ${h.family} | ${h.numRuns} (${(h.ms / 1000).toFixed(0)} s) | ${h.seed} | ${h.failure ? `FAILED: ${h.failure.split('\n')[0]}` : 'all equal to the oracle'} |`,
  );

const violations =
  kills.filter((k) => !k.recovered).length +
  restarts.filter((r) => !r.recovered).length +
  mixes.filter((m) => m.problems.length > 0).length +
  histories.filter((h) => h.failure).length;
lines.push('', `violations: ${violations}`);
process.stdout.write(`${lines.join('\n')}\n`);

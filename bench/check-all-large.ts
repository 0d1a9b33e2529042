/**
 * `dbops check all` on a large corrupted database (issue 7's sizes by default: 1,000,000 Queen
 * messages, 1,000,000 Nova messages, 2,000,000 chunks, 200,000 checkpoints): seeds every family
 * the demo knows, applies all migrations, simulates the demo's drift, then prints the
 * `check all` table and its wall time (estimates for skew; add --exact to compare), then times
 * the bench's best counting statement of each family's consistency findings (bench/ops/<family>/
 * baselines.ts, each in a fresh session) and prints `check all` against their sum (issue 21:
 * at most 1.3x). Skew has no counting statement here: with estimates it reads pg_class only.
 *
 * `check all` and the counting statements run `--runs` times (default 3), alternating, and the
 * ratio is of their medians with the load average printed: one run of each swung 1.2x-1.9x on a
 * loaded machine.
 *
 *   npm run build && node dist/bench/check-all-large.js [scale=1] [--exact] [--runs 3]
 */
import { loadavg } from 'node:os';
import { loadDemoFamilies } from '../src/demo/families.js';
import type { FamilyName } from '../src/families/names.js';
import { dbopsOrThrow, runDbops } from './lib/cli.js';
import { createBenchDatabase } from './lib/db.js';
import { CHECK_SQL as CHECKPOINT_CHECK } from './ops/checkpoint/baselines.js';
import { CHECK_SQL as LOOKUP_CHECK } from './ops/lookup/baselines.js';
import { CHECK_SQL as PARTITION_CHECK } from './ops/partition/baselines.js';
import { CHECK_SQL as SEQUENCE_CHECK } from './ops/sequence/baselines.js';

const COUNTING: Record<FamilyName, string> = {
  lookup: LOOKUP_CHECK,
  partition: PARTITION_CHECK,
  checkpoint: CHECKPOINT_CHECK,
  sequence: SEQUENCE_CHECK,
};

const scale = Number(
  process.argv.find((a, i) => /^[\d.]+$/.test(a) && process.argv[i - 1] !== '--runs') ?? 1,
);
const exact = process.argv.includes('--exact');
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Math.max(1, Number(process.argv[runsAt + 1]) || 1) : 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const SIZES: Record<FamilyName, number> = {
  lookup: 1_000_000,
  sequence: 1_000_000,
  partition: 2_000_000,
  checkpoint: 200_000,
};

const DEMO_FAMILIES = await loadDemoFamilies();
const db = await createBenchDatabase('check_all');
try {
  for (const f of DEMO_FAMILIES) {
    const t = performance.now();
    const line = await f.setup(db.client, Math.round(SIZES[f.family] * scale));
    console.error(`${line} (${Math.round(performance.now() - t)} ms)`);
  }
  await db.client.query('VACUUM ANALYZE');
  const up = await dbopsOrThrow(db.url, 'migrate', 'up', ...DEMO_FAMILIES.map((f) => f.family));
  console.error(`migrate up: ${Math.round(up.ms)} ms`);
  for (const f of DEMO_FAMILIES) console.error(await f.drift(db.client));
  await db.client.query('ANALYZE');
  const check = await runDbops(['check', 'all', ...(exact ? ['--exact'] : [])], db.url);
  process.stdout.write(check.stdout);
  console.log(
    `\ndbops check all: exit ${check.code}, ${Math.round(check.ms)} ms wall (including CLI start-up)`,
  );
  // Where the time goes: a second run as JSON, each check's own duration (a family's shared
  // classifying pass is paid by the first of its checks to run).
  const json = await runDbops(
    ['check', 'all', '--format', 'json', ...(exact ? ['--exact'] : [])],
    db.url,
  );
  const items = (
    JSON.parse(json.stdout) as {
      checks: { id: string; numbers?: { durationMs?: number } }[];
    }
  ).checks;
  console.log(`\nsecond run (json): ${Math.round(json.ms)} ms wall; per check, slowest first:`);
  const ms = (i: (typeof items)[number]) => i.numbers?.durationMs ?? 0;
  for (const i of [...items].sort((a, b) => ms(b) - ms(a))) {
    console.log(`  ${String(ms(i)).padStart(7)} ms  ${i.id}`);
  }
  // The best counting statements, each in a fresh session (connect included), as psql -c would,
  // alternating with further `check all` runs (table output, as the first).
  const checkMs = [check.ms];
  const counting = new Map<FamilyName, number[]>(DEMO_FAMILIES.map((f) => [f.family, []]));
  for (let run = 0; run < runs; run++) {
    if (run > 0)
      checkMs.push((await runDbops(['check', 'all', ...(exact ? ['--exact'] : [])], db.url)).ms);
    for (const f of DEMO_FAMILIES) {
      const t = performance.now();
      const session = await db.connect();
      try {
        await session.query(COUNTING[f.family]);
        counting.get(f.family)!.push(performance.now() - t);
      } catch (err) {
        console.log(`  failed: ${f.family}: ${(err as Error).message}`);
      } finally {
        await session.end();
      }
    }
  }
  console.log(`\nbest counting statement per family (fresh session each; median of ${runs}):`);
  let sum = 0;
  for (const [family, ms] of counting) {
    if (ms.length === 0) continue;
    sum += median(ms);
    console.log(`  ${String(Math.round(median(ms))).padStart(7)} ms  ${family}`);
  }
  const checkMedian = median(checkMs);
  console.log(
    `check all ${Math.round(checkMedian)} ms (median of ${runs}: ${checkMs.map(Math.round).join(', ')}) / sum ${Math.round(sum)} ms = ${(checkMedian / sum).toFixed(2)}x (target <= 1.3x), load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await db.drop();
}

import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test/helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../test/helpers/db.js';
import { HARNESSES } from './families/index.js';
import { chaosConfig } from './lib/config.js';
import type { FamilyHarness } from './lib/harness.js';
import { resyncInProcess } from './lib/inProcess.js';
import { leftovers, nonZero } from './lib/invariants.js';
import { record } from './lib/results.js';
import { rngOf } from './lib/rng.js';
import { emptyStats, runTransaction } from './lib/writers.js';

const config = chaosConfig();
const CONNECTIONS = 3;
const families = HARNESSES.filter((h) => config.families.includes(h.name));

/** One step of a history: an application transaction on a connection, or a dbops operation. */
type Step =
  | { kind: 'write'; conn: number; op: number; seed: number; rollback: boolean }
  | { kind: 'resync'; conn: number }
  | { kind: 'check'; conn: number };

function stepArb(h: FamilyHarness): fc.Arbitrary<Step> {
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({
        kind: fc.constant('write' as const),
        conn: fc.nat(CONNECTIONS - 1),
        op: fc.nat(h.ops.length - 1),
        seed: fc.nat(),
        rollback: fc.nat(9).map((n) => n === 0),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('resync' as const), conn: fc.nat(CONNECTIONS - 1) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('check' as const), conn: fc.nat(CONNECTIONS - 1) }),
    },
  );
}

function show(h: FamilyHarness, s: Step): string {
  if (s.kind !== 'write') return `c${s.conn}:${s.kind}`;
  return `c${s.conn}:${h.ops[s.op]!.name}#${s.seed}${s.rollback ? '(rollback)' : ''}`;
}

/**
 * Runs the steps in order, each on its connection; consecutive steps on different connections
 * run at the same time (a round ends where a connection repeats), so transactions interleave on
 * the server. Every step is its own transaction, as each application really commits them.
 */
async function runHistory(
  h: FamilyHarness,
  clients: pg.Client[],
  steps: Step[],
): Promise<string[]> {
  const problems: string[] = [];
  const stats = emptyStats();
  let round: Step[] = [];
  const flush = async () => {
    await Promise.all(
      round.map(async (s) => {
        const c = clients[s.conn]!;
        if (s.kind === 'write') {
          const rnd = rngOf(s.seed);
          await runTransaction(c, h, h.ops[s.op]!, rnd, stats, s.rollback);
        } else if (s.kind === 'resync') {
          problems.push(...(await resyncInProcess(c, h)).map((p) => `resync: ${p}`));
        } else {
          problems.push(
            ...nonZero((await h.oracle(c)).always).map((p) => `mid-history check: ${p}`),
          );
        }
      }),
    );
    round = [];
  };
  for (const s of steps) {
    if (round.some((r) => r.conn === s.conn)) await flush();
    round.push(s);
  }
  await flush();
  problems.push(...stats.findings.map((f) => `client error: ${f}`));
  const c = clients[0]!;
  problems.push(...nonZero((await h.oracle(c)).always).map((p) => `before resync: ${p}`));
  problems.push(...(await resyncInProcess(c, h)).map((p) => `final resync: ${p}`));
  const o = await h.oracle(c);
  problems.push(...nonZero({ ...o.always, ...o.afterResync }).map((p) => `after resync: ${p}`));
  const left = await leftovers(c, h.name);
  problems.push(
    ...nonZero({ advisoryLocks: left.advisoryLocks!, invalidIndexes: left.invalidIndexes! }),
  );
  return problems;
}

describe.each(families)('randomized histories: $name', (h) => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    db = await createTestDatabase(`chaos_hist_${h.name}`);
    await h.setup(db);
    const up = await runCli(['migrate', 'up', h.name], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    for (let i = 0; i < CONNECTIONS; i++) clients.push(await db.connect());
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await db?.drop();
  });

  it('every history ends equal to the oracle', async () => {
    const numRuns = Math.max(1, Math.round(config.histories / families.length));
    const seed = config.seed;
    process.stderr.write(
      `chaos histories ${h.name}: ${numRuns} runs, seed ${seed} (CHAOS_SEED=${seed} replays)\n`,
    );
    let runs = 0;
    const started = Date.now();
    let failure: string | undefined;
    let lastProblems = '';
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb(h), { minLength: 3, maxLength: 30 }), async (steps) => {
          runs += 1;
          const problems = await runHistory(h, clients, steps);
          if (problems.length > 0) {
            lastProblems = problems.join('; ');
            throw new Error(
              `${problems.join('; ')}\nhistory: ${steps.map((s) => show(h, s)).join(' ')}`,
            );
          }
        }),
        { numRuns, seed, endOnFailure: false },
      );
    } catch (err) {
      failure = `${(err as Error).message}\nlast failure: ${lastProblems}`;
    }
    record('histories', {
      family: h.name,
      numRuns,
      seed,
      executions: runs,
      ms: Date.now() - started,
      failure: failure ?? null,
    });
    expect(failure).toBeUndefined();
  });
});

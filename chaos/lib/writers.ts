import type pg from 'pg';
import type { FamilyHarness, WriteOp } from './harness.js';
import { type Rng, rngOf } from './rng.js';

/** What a group of application clients did, and which errors dbops would have to answer for. */
export interface MixStats {
  committed: number;
  rolledBack: number;
  /** Errors the application also gets without dbops (its own races), by SQLSTATE. */
  appErrors: Record<string, number>;
  /** Every other error (unique violations, deadlocks, serialization failures, ...): findings. */
  findings: string[];
}

export function emptyStats(): MixStats {
  return { committed: 0, rolledBack: 0, appErrors: {}, findings: [] };
}

export function pickOp(ops: WriteOp[], rnd: Rng): WriteOp {
  const total = ops.reduce((s, o) => s + (o.weight ?? 1), 0);
  let x = rnd() * total;
  for (const op of ops) {
    x -= op.weight ?? 1;
    if (x < 0) return op;
  }
  return ops[ops.length - 1]!;
}

/** One application transaction: the op, then COMMIT (or ROLLBACK when asked). Errors are classified. */
export async function runTransaction(
  client: pg.ClientBase,
  harness: FamilyHarness,
  op: WriteOp,
  rnd: Rng,
  stats: MixStats,
  rollback = false,
): Promise<void> {
  try {
    await client.query('BEGIN');
    await op.run(client, rnd);
    await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
    if (rollback) stats.rolledBack += 1;
    else stats.committed += 1;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    const code = (err as { code?: string }).code ?? 'none';
    if (harness.appErrors.includes(code)) stats.appErrors[code] = (stats.appErrors[code] ?? 0) + 1;
    else stats.findings.push(`${op.name}: ${code} ${(err as Error).message}`);
  }
}

/** Application clients looping over the family's write mix until stop(). */
export function startWriters(
  clients: pg.Client[],
  harness: FamilyHarness,
  seed: number,
): { stats: MixStats; stop(): Promise<MixStats> } {
  const stats = emptyStats();
  let running = true;
  const loops = clients.map(async (client, i) => {
    const rnd = rngOf(seed + i * 7919);
    while (running) {
      await runTransaction(client, harness, pickOp(harness.ops, rnd), rnd, stats, rnd() < 0.05);
    }
  });
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

import type pg from 'pg';
import type { FamilyHarness, WriteOp } from './harness.js';
import { type Rng, rngOf } from './rng.js';

/** What a group of application clients did, and which errors dbops would have to answer for. */
export interface MixStats {
  committed: number;
  rolledBack: number;
  /**
   * Errors the application also gets without dbops (its own races), by SQLSTATE; an op's own
   * (WriteOp.appErrors) as `SQLSTATE (op)`.
   */
  appErrors: Record<string, number>;
  /** Every other error (unique violations, deadlocks, serialization failures, ...): findings. */
  findings: string[];
  /** Connections lost to a server restart (only counted when the writers reconnect). */
  connectionErrors: number;
}

export function emptyStats(): MixStats {
  return { committed: 0, rolledBack: 0, appErrors: {}, findings: [], connectionErrors: 0 };
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

/**
 * The connection is gone (the server restarted): admin or crash shutdown, "cannot connect now",
 * SQLSTATE class 08, or a socket error of the driver (no SQLSTATE).
 */
export function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  if (code === undefined) return /terminated|not queryable|connection|ECONN/i.test(String(err));
  return /^(57P0[123]|08...|E[A-Z]+)$/.test(code);
}

/**
 * One application transaction: the op, then COMMIT (or ROLLBACK when asked). Errors are
 * classified. Returns false when the connection was lost and `tolerateConnectionLoss` is set.
 */
export async function runTransaction(
  client: pg.ClientBase,
  harness: FamilyHarness,
  op: WriteOp,
  rnd: Rng,
  stats: MixStats,
  rollback = false,
  tolerateConnectionLoss = false,
): Promise<boolean> {
  try {
    await client.query('BEGIN');
    await op.run(client, rnd);
    await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
    if (rollback) stats.rolledBack += 1;
    else stats.committed += 1;
  } catch (err) {
    if (tolerateConnectionLoss && isConnectionLoss(err)) {
      stats.connectionErrors += 1;
      return false;
    }
    await client.query('ROLLBACK').catch(() => {});
    const {
      code = 'none',
      detail,
      where,
    } = err as { code?: string; detail?: string; where?: string };
    if (harness.appErrors.includes(code)) stats.appErrors[code] = (stats.appErrors[code] ?? 0) + 1;
    else if (op.appErrors?.some((a) => a.code === code && a.where.test(where ?? ''))) {
      const key = `${code} (${op.name})`;
      stats.appErrors[key] = (stats.appErrors[key] ?? 0) + 1;
    } else
      stats.findings.push(
        `${op.name}: ${code} ${(err as Error).message}${detail ? ` (${detail})` : ''}${where ? ` [${where}]` : ''}`,
      );
  }
  return true;
}

/** Connects, retrying while the server is down or starting (up to `ms`). */
export async function connectRetrying(
  connect: () => Promise<pg.Client>,
  ms = 120_000,
): Promise<pg.Client> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await connect();
    } catch (err) {
      if (Date.now() > deadline || !isConnectionLoss(err)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Application clients looping over the family's write mix until stop(). With `reconnect`, a
 * lost connection (a server restart) is counted, not a finding: the writer opens a new one
 * (replacing it in `clients`) as an application's pool would, and goes on.
 */
export function startWriters(
  clients: pg.Client[],
  harness: FamilyHarness,
  seed: number,
  reconnect?: () => Promise<pg.Client>,
): { stats: MixStats; stop(): Promise<MixStats> } {
  const stats = emptyStats();
  let running = true;
  const loops = clients.map(async (_, i) => {
    const rnd = rngOf(seed + i * 7919);
    while (running) {
      const op = pickOp(harness.ops, rnd);
      const rollback = rnd() < 0.05;
      if (await runTransaction(clients[i]!, harness, op, rnd, stats, rollback, !!reconnect))
        continue;
      await clients[i]!.end().catch(() => {});
      clients[i] = await connectRetrying(reconnect!);
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

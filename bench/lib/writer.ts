import type pg from 'pg';
import type { BenchOperation, RunOutput } from './types.js';

/** Latency statistics of a writer that ran alongside a migration or resync. */
export interface WriterStats {
  statements: number;
  errors: number;
  /** Longest single statement, ms: an upper bound on how long the writer was blocked. */
  maxMs: number;
  p99Ms: number;
  firstError?: string;
}

/**
 * Runs `write(client)` in a loop on its own connection until stop() is called, timing each
 * statement (a blocked writer shows up as one long statement).
 */
export function startWriter(
  client: pg.Client,
  write: (c: pg.Client) => Promise<unknown>,
): { stop(): Promise<WriterStats> } {
  const times: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        await write(client);
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      times.push(performance.now() - t);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = [...times].sort((a, b) => a - b);
      const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
      return {
        statements: times.length,
        errors,
        maxMs: Math.round(sorted.at(-1) ?? 0),
        p99Ms: Math.round(p99),
        ...(firstError ? { firstError } : {}),
      };
    },
  };
}

/**
 * An SQL side run `count` times, split over `writers` connections running at once (the connects
 * are not timed): statement i goes to writer i mod `writers`, with the side's params for i.
 */
export function concurrently(
  one: BenchOperation['baseline'],
  count: number,
  writers: number,
): BenchOperation['baseline'] {
  if (one.kind !== 'sql') throw new Error('concurrently() runs an SQL side');
  return {
    kind: 'fn',
    sql: one.sql,
    async run(ctx): Promise<RunOutput> {
      const params = Array.from({ length: count }, (_, i) => one.params!(i));
      const clients = await Promise.all(Array.from({ length: writers }, () => ctx.db.connect()));
      try {
        const started = performance.now();
        await Promise.all(
          clients.map(async (c, w) => {
            for (let i = w; i < count; i += writers) await c.query(one.sql, params[i]);
          }),
        );
        return { ms: performance.now() - started };
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    },
  };
}

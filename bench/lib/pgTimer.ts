/**
 * Preloaded into a dbops process by bench/startup.ts (`node --import <this> bin/dbops.js ...`):
 * records, on the process's own clock, when the connection starts and when each statement is
 * sent and answered, and writes them as JSON to DBOPS_BENCH_PG_TIMES at exit. Measurement only:
 * without that variable it does nothing. It loads pg before dbops does (so pg's load time is not
 * in any interval it reports); dbops then gets the same, patched, module from the cache.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type pg from 'pg';

export interface PgTimes {
  connectStart: number | null;
  connected: number | null;
  /** [sent, answered, first 80 characters of the SQL] per statement, in the order sent. */
  queries: [number, number, string][];
}

const out = process.env.DBOPS_BENCH_PG_TIMES;
if (out) {
  const { Client } = createRequire(import.meta.url)('pg') as typeof pg;
  const times: PgTimes = { connectStart: null, connected: null, queries: [] };
  const proto = Client.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const connect = proto.connect!;
  proto.connect = function (this: unknown, ...args: unknown[]) {
    times.connectStart ??= performance.now();
    const result = connect.apply(this, args) as Promise<unknown> | undefined;
    result?.then(() => {
      times.connected ??= performance.now();
    });
    return result;
  };
  const query = proto.query!;
  proto.query = function (this: unknown, q: unknown, ...args: unknown[]) {
    const sent = performance.now();
    const text = typeof q === 'string' ? q : String((q as { text?: string })?.text ?? '');
    const entry: [number, number, string] = [sent, Number.NaN, text.trim().slice(0, 80)];
    times.queries.push(entry);
    const result = query.call(this, q, ...args) as Promise<unknown> | undefined;
    result?.then(
      () => {
        entry[1] = performance.now();
      },
      () => {
        entry[1] = performance.now();
      },
    );
    return result;
  };
  process.on('exit', () => writeFileSync(out, JSON.stringify(times)));
}

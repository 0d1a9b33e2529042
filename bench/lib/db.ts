import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Server for benchmarks: BENCH_DATABASE_URL, else DATABASE_URL, else the local server. */
export function benchServerUrl(): string {
  return (
    process.env.BENCH_DATABASE_URL ||
    process.env.DATABASE_URL ||
    'postgres://root@127.0.0.1:5432/test'
  );
}

export interface BenchDatabase {
  url: string;
  client: pg.Client;
  connect(): Promise<pg.Client>;
  drop(): Promise<void>;
}

/** A fresh database `dbops_bench_<label>_<random>` on the bench server. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const server = benchServerUrl();
  const name = `dbops_bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(server);
  u.pathname = `/${name}`;
  const url = u.toString();
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const client = await connect();
  return {
    url,
    client,
    connect,
    async drop() {
      await client.end().catch(() => {});
      const a = new pg.Client({ connectionString: server });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}

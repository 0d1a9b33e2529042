import pg from 'pg';

/** The server tests use: TEST_DATABASE_URL, else DATABASE_URL, else the machine's local server. */
export function configuredServerUrl(): string {
  return (
    process.env.TEST_DATABASE_URL ||
    process.env.DATABASE_URL ||
    'postgres://root@127.0.0.1:5432/test'
  );
}

/** True when a connection to `url` succeeds within a few seconds. */
export async function isReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

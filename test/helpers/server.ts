import pg from 'pg';

/** The machine's server, used when no URL is set and something answers there. */
export const LOCAL_SERVER_URL = 'postgres://root@127.0.0.1:5432/test';

/** Which server the integration tests use, and why (for the one line globalSetup prints). */
export type TestServerChoice =
  | { kind: 'url'; url: string; source: 'TEST_DATABASE_URL' | 'DATABASE_URL' | 'local default' }
  | { kind: 'embedded'; reason: string };

/**
 * DBOPS_TEST_EMBEDDED=1 forces the embedded server. Otherwise TEST_DATABASE_URL, else
 * DATABASE_URL: an explicit setting is used or fails loudly when unreachable (falling back would
 * hide a broken CI server behind a green run on a different server). With neither set, the local
 * server at 127.0.0.1:5432 is used if it answers, else the embedded one.
 */
export async function chooseTestServer(
  env: NodeJS.ProcessEnv,
  reachable: (url: string) => Promise<boolean>,
): Promise<TestServerChoice> {
  if (env.DBOPS_TEST_EMBEDDED === '1') return { kind: 'embedded', reason: 'DBOPS_TEST_EMBEDDED=1' };
  const source = env.TEST_DATABASE_URL
    ? 'TEST_DATABASE_URL'
    : env.DATABASE_URL
      ? 'DATABASE_URL'
      : undefined;
  if (source) {
    const url = env[source]!;
    if (await reachable(url)) return { kind: 'url', url, source };
    throw new Error(
      `PostgreSQL is not reachable at ${maskPassword(url)} (from ${source}). Start it or fix ${source}; ` +
        `unset it to use the local server or, if there is none, an embedded one (DBOPS_TEST_EMBEDDED=1 forces that).`,
    );
  }
  if (await reachable(LOCAL_SERVER_URL)) {
    return { kind: 'url', url: LOCAL_SERVER_URL, source: 'local default' };
  }
  return {
    kind: 'embedded',
    reason: `TEST_DATABASE_URL and DATABASE_URL are unset and ${LOCAL_SERVER_URL} does not answer`,
  };
}

export function maskPassword(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
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

import { createRequire } from 'node:module';
import type pg from 'pg';
import { ConnectionError, isPgError, SqlState, UsageError } from '../errors.js';

/** Where to connect, resolved from flag, environment and config file. */
export interface ConnectionSpec {
  /** A postgres:// URL, or undefined to let libpq-style PG* variables and defaults decide. */
  url: string | undefined;
  /** Where the URL came from, for messages. `default`: nothing was configured at all. */
  source:
    | '--database-url'
    | 'DATABASE_URL'
    | 'config file'
    | 'PG* variables'
    | 'default'
    | 'embedded server'
    | 'fleet target';
  /** Connect to this database instead of the one the URL or PGDATABASE names. */
  database?: string;
}

/**
 * Precedence: --database-url > DATABASE_URL > config `databaseUrl` > PG* variables/defaults.
 * Like libpq, PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE) still fill
 * in whatever the chosen URL leaves out; pg does that itself.
 */
export function resolveConnection(input: {
  flagUrl?: string | undefined;
  envUrl?: string | undefined;
  configUrl?: string | undefined;
  /** True when PGHOST, PGPORT or PGDATABASE is set (a server is configured the libpq way). */
  pgEnvSet?: boolean;
}): ConnectionSpec {
  const candidates: [string | undefined, ConnectionSpec['source']][] = [
    [input.flagUrl, '--database-url'],
    [input.envUrl, 'DATABASE_URL'],
    [input.configUrl, 'config file'],
  ];
  for (const [url, source] of candidates) {
    if (url !== undefined && url !== '') {
      validateUrl(url, source);
      return { url, source };
    }
  }
  return { url: undefined, source: input.pgEnvSet ? 'PG* variables' : 'default' };
}

function validateUrl(url: string, source: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      `${source} is not a valid URL: ${maskUrl(url)}`,
      'Use the form postgres://user:password@host:5432/database',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new UsageError(
      `${source} must start with postgres:// or postgresql://, got ${parsed.protocol}//`,
      'Use the form postgres://user:password@host:5432/database',
    );
  }
}

/** The URL with its password replaced by ***, safe to print. Works on malformed input too. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    const masked = parsed.toString();
    return parsed.searchParams.has('password')
      ? masked.replace(/([?&]password=)[^&]*/i, '$1***')
      : masked;
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@').replace(/(password=)[^&\s]*/gi, '$1***');
  }
}

/** Masks every postgres URL inside free text (error messages may echo a connection string). */
export function maskSecrets(text: string): string {
  return text.replace(/postgres(?:ql)?:\/\/[^\s'"]+/g, (url) => maskUrl(url));
}

/** A short human description of the target, password masked. */
export function describeConnection(spec: ConnectionSpec): string {
  if (spec.url) return maskUrl(urlOf(spec)!);
  const db = spec.database ? ` (database ${spec.database})` : '';
  return `the server named by PG* variables (or the local default)${db}`;
}

/** The spec's URL with its database replaced by `spec.database` when set. */
export function urlOf(spec: ConnectionSpec): string | undefined {
  if (!spec.url || !spec.database) return spec.url;
  const url = new URL(spec.url);
  url.pathname = `/${encodeURIComponent(spec.database)}`;
  return url.toString();
}

/** Opens one client with application_name=dbops. Failures become ConnectionError. */
export async function openClient(spec: ConnectionSpec): Promise<pg.Client> {
  const { Client } = await loadPg();
  const client = new Client({
    ...(spec.url ? { connectionString: urlOf(spec) } : { database: spec.database }),
    application_name: 'dbops',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw connectionFailure(spec, err);
  }
  return client;
}

let pgModule: Promise<typeof pg> | undefined;

/**
 * pg is loaded by the first command that connects, not at start-up (`--help` and `--version`
 * never need it). On load pg probes for Cloudflare Workers: without a global `navigator` (Node
 * < 21) it constructs a `Response`, which loads Node's whole fetch implementation, about 20 ms.
 * A navigator that says "Node.js" gives the probe the answer it would reach anyway (not
 * Cloudflare), and exists only while pg's module body runs.
 */
export function loadPg(): Promise<typeof pg> {
  pgModule ??= (async () => {
    const shim = !('navigator' in globalThis);
    if (shim) {
      Object.defineProperty(globalThis, 'navigator', {
        value: { userAgent: 'Node.js' },
        configurable: true,
      });
    }
    try {
      // require, not import(): pg is CommonJS, and the ESM wrapper around it costs about 3 ms
      // more (a second module graph walk and the CommonJS export analysis).
      return createRequire(import.meta.url)('pg') as typeof pg;
    } finally {
      if (shim) Reflect.deleteProperty(globalThis, 'navigator');
    }
  })();
  return pgModule;
}

function connectionFailure(spec: ConnectionSpec, err: unknown): ConnectionError {
  const where = describeConnection(spec);
  const reason = maskSecrets(err instanceof Error ? err.message : String(err));
  if (isPgError(err) && err.code === SqlState.invalidCatalogName) {
    return new ConnectionError(
      `database does not exist (${where}): ${reason}`,
      'Create the database first, or point --database-url at an existing one.',
      err,
    );
  }
  if (
    isPgError(err) &&
    (err.code === SqlState.invalidPassword || err.code === SqlState.invalidAuthorization)
  ) {
    return new ConnectionError(
      `authentication failed (${where}): ${reason}`,
      'Check the user and password in the URL or PGUSER/PGPASSWORD.',
      err,
    );
  }
  return new ConnectionError(
    `could not connect to ${where} (from ${spec.source}): ${reason}`,
    'Is PostgreSQL running and reachable? Pass --database-url or set DATABASE_URL.',
    err,
  );
}

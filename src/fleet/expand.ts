import { ConnectionError } from '../errors.js';
import { connectionStatus } from './status.js';
import { databaseOf, isPattern } from './targets.js';
import type { FleetTarget } from './types.js';

/** Databases a pattern may never match: they are not tenants. */
const LIST_DATABASES = `
  SELECT datname FROM pg_database
   WHERE datallowconn AND NOT datistemplate AND datname LIKE $1 ESCAPE '\\'
   ORDER BY datname`;

/**
 * Replaces each target whose database is a pattern (`tenant_*`) by one target per matching
 * database, listed from pg_database on that server (connecting to its `postgres` database).
 * A server that cannot be listed, or a pattern matching nothing, stays as one target with a
 * problem, so the report shows it instead of the run stopping.
 */
export async function expandPatterns(targets: FleetTarget[]): Promise<FleetTarget[]> {
  const expanded = await Promise.all(targets.map((t) => (isPattern(t) ? expandOne(t) : [t])));
  return expanded.flat();
}

async function expandOne(target: FleetTarget): Promise<FleetTarget[]> {
  const { openClient } = await import('../db/connection.js');
  const pattern = databaseOf(target.url);
  let names: string[];
  try {
    const client = await openClient({
      url: target.url,
      source: 'fleet target',
      database: 'postgres',
    });
    try {
      const { rows } = await client.query<{ datname: string }>(LIST_DATABASES, [
        likePattern(pattern),
      ]);
      names = rows.map((r) => r.datname);
    } finally {
      await client.end().catch(() => {});
    }
  } catch (err) {
    // Not connecting is unreachable (or refused: authentication); not being let to list is refused.
    const status = err instanceof ConnectionError ? connectionStatus(err) : 'refused';
    const reason = err instanceof Error ? err.message : String(err);
    const message = `cannot list databases matching ${pattern}: ${reason}`;
    return [{ ...target, problem: { status, message } }];
  }
  if (names.length === 0) {
    return [
      { ...target, problem: { status: 'unreachable', message: `no database matches ${pattern}` } },
    ];
  }
  const prefix = target.name.includes('*') ? target.name.replace(/\/[^/]*$/, '') : target.name;
  return names.map((db) => {
    const url = new URL(target.url);
    url.pathname = `/${encodeURIComponent(db)}`;
    return { ...target, name: `${prefix}/${db}`, group: target.name, url: url.toString() };
  });
}

/** `*` is any run of characters; every other character (%, _ and \ included) is literal. */
export function likePattern(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%');
}

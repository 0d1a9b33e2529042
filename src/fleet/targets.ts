import { ConfigError } from '../errors.js';
import { FAMILY_NAMES, type FamilyName, isFamilyName } from '../families/names.js';
import type { FleetTarget } from './types.js';

/**
 * Targets files, config `targets` and stdin. An entry is a URL string, or an object with a URL or
 * libpq-style fields, an optional name, families and schemas:
 *
 *   { "name": "eu-1", "url": "postgres://dbops:secret@eu-1.db:5432/app", "families": ["lookup"] }
 *   { "name": "tenants", "host": "db2", "user": "dbops", "database": "tenant_*" }
 *
 * A `*` in the database name is a pattern, expanded on the server (see expand.ts).
 */
const ENTRY_KEYS = [
  'name',
  'url',
  'host',
  'port',
  'user',
  'password',
  'database',
  'sslmode',
  'families',
  'schemas',
];
const FIELD_KEYS = ['host', 'port', 'user', 'password', 'database', 'sslmode'];

/** Validates a list of target entries; every problem goes to `problems`, prefixed by `where`. */
export function readTargetList(raw: unknown, where: string, problems: string[]): FleetTarget[] {
  const list =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'targets' in raw
      ? (raw as { targets: unknown }).targets
      : raw;
  if (!Array.isArray(list)) {
    problems.push(`${where}: must be an array of targets (URL strings or objects)`);
    return [];
  }
  const targets: FleetTarget[] = [];
  for (const [i, entry] of list.entries()) {
    const target = readEntry(entry, `${where}[${i}]`, problems);
    if (target) targets.push(target);
  }
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.name))
      problems.push(
        `${where}: two targets are named ${JSON.stringify(t.name)}; names must be unique`,
      );
    seen.add(t.name);
  }
  return targets;
}

function readEntry(entry: unknown, where: string, problems: string[]): FleetTarget | undefined {
  if (typeof entry === 'string') return fromUrl(entry, undefined, where, problems);
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    problems.push(`${where}: must be a URL string or an object with url or host/database`);
    return undefined;
  }
  const e = entry as Record<string, unknown>;
  for (const key of Object.keys(e)) {
    if (!ENTRY_KEYS.includes(key))
      problems.push(`${where}.${key}: unknown key (known: ${ENTRY_KEYS.join(', ')})`);
  }
  if (e.name !== undefined && (typeof e.name !== 'string' || e.name === '')) {
    problems.push(`${where}.name: must be a non-empty string`);
    return undefined;
  }
  const fields = FIELD_KEYS.filter((k) => e[k] !== undefined);
  let url: string | undefined;
  if (e.url !== undefined && fields.length > 0) {
    problems.push(`${where}: give either url or ${fields.join('/')}, not both`);
  } else if (e.url !== undefined) {
    if (typeof e.url === 'string') url = e.url;
    else problems.push(`${where}.url: must be a string`);
  } else {
    url = urlFromFields(e, where, problems);
  }
  const target = url === undefined ? undefined : fromUrl(url, e.name as string, where, problems);
  if (!target) return undefined;
  if (e.families !== undefined) target.families = readFamilies(e.families, where, problems);
  if (e.schemas !== undefined) target.schemas = readSchemas(e.schemas, where, problems);
  return target;
}

function urlFromFields(
  e: Record<string, unknown>,
  where: string,
  problems: string[],
): string | undefined {
  const bad = FIELD_KEYS.filter(
    (k) => e[k] !== undefined && typeof e[k] !== 'string' && !(k === 'port' && isPort(e[k])),
  );
  for (const k of bad)
    problems.push(`${where}.${k}: must be a string${k === 'port' ? ' or a port number' : ''}`);
  if (typeof e.database !== 'string' || e.database === '') {
    problems.push(`${where}: needs url, or at least database (with host, port, user, password)`);
    return undefined;
  }
  if (bad.length > 0) return undefined;
  const enc = encodeURIComponent;
  const auth =
    e.user !== undefined
      ? `${enc(String(e.user))}${e.password !== undefined ? `:${enc(String(e.password))}` : ''}@`
      : '';
  const host = String(e.host ?? 'localhost');
  const port = e.port !== undefined ? `:${e.port}` : '';
  // encodeURIComponent keeps `*`, so a pattern in database survives.
  const query = e.sslmode !== undefined ? `?sslmode=${enc(String(e.sslmode))}` : '';
  return `postgres://${auth}${host}${port}/${enc(e.database)}${query}`;
}

function isPort(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536;
}

function fromUrl(
  url: string,
  name: string | undefined,
  where: string,
  problems: string[],
): FleetTarget | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`${where}: not a valid URL (use postgres://user:password@host:5432/database)`);
    return undefined;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    problems.push(`${where}: must start with postgres:// or postgresql://`);
    return undefined;
  }
  if (databaseOf(url) === '') {
    problems.push(`${where}: the URL names no database (postgres://host/database)`);
    return undefined;
  }
  return { name: name ?? defaultName(parsed), url };
}

/** host:port/database: a name that shows where a target is and holds no secret. */
function defaultName(url: URL): string {
  return `${url.hostname}${url.port ? `:${url.port}` : ''}/${databaseOf(url.toString())}`;
}

/** The database a URL names (decoded). */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** True when the database name is a pattern (`tenant_*`) to expand on the server. */
export function isPattern(target: FleetTarget): boolean {
  return databaseOf(target.url).includes('*');
}

function readFamilies(value: unknown, where: string, problems: string[]): FamilyName[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && isFamilyName(v))) {
    problems.push(`${where}.families: must be an array of ${FAMILY_NAMES.join(', ')}`);
    return [];
  }
  return value as FamilyName[];
}

function readSchemas(
  value: unknown,
  where: string,
  problems: string[],
): Partial<Record<FamilyName, string>> {
  const schemas: Partial<Record<FamilyName, string>> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where}.schemas: must be an object mapping family to schema name`);
    return schemas;
  }
  for (const [family, schema] of Object.entries(value)) {
    if (!isFamilyName(family))
      problems.push(
        `${where}.schemas.${family}: unknown family (known: ${FAMILY_NAMES.join(', ')})`,
      );
    else if (typeof schema !== 'string' || schema === '' || Buffer.byteLength(schema) > 63)
      problems.push(`${where}.schemas.${family}: must be a schema name of 1 to 63 bytes`);
    else schemas[family] = schema;
  }
  return schemas;
}

/** A targets file's content (JSON: a list, or an object with `targets`). */
export function parseTargetsFile(text: string, file: string): FleetTarget[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid JSON: ${err instanceof Error ? err.message : err}`]);
  }
  const problems: string[] = [];
  const targets = readTargetList(raw, 'targets', problems);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return targets;
}

/** `--targets -`: one URL per line; blank lines and lines starting with # are ignored. */
export function parseTargetLines(text: string): FleetTarget[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const problems: string[] = [];
  const targets = readTargetList(lines, 'line', problems);
  if (problems.length > 0) throw new ConfigError('stdin (--targets -)', problems);
  return targets;
}

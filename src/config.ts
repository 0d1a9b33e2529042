import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './errors.js';
import { FAMILY_NAMES, type FamilyName, isFamilyName } from './families/names.js';
import { readTargetList } from './fleet/targets.js';
import type { FleetTarget } from './fleet/types.js';

/** Skew thresholds; see docs/skew.md. */
export interface SkewSettings {
  /** Partitioned table `check skew` inspects by default. Default `chunks`. */
  table: string;
  /** max/avg above this is WARNING. Default 1.1. */
  warn: number;
  /** max/avg above this is REBALANCE NEEDED (exit 1). Default 1.2. */
  fail: number;
  /** A partition above hot x avg is listed as hot. Default 1.2. */
  hot: number;
  /** A partition below cold x avg is listed as cold. Default 0.8. */
  cold: number;
}

/** The validated configuration every command receives. */
export interface ResolvedConfig {
  /** The file the settings came from, if any. */
  file: string | undefined;
  databaseUrl: string | undefined;
  /** Families this database has; undefined means "detect from the base tables". */
  families: FamilyName[] | undefined;
  /** Schema holding each family's base tables. Defaults: queen, public, beckett, public. */
  schemas: Record<FamilyName, string>;
  /** lock_timeout for DDL, ms. Default 3000. */
  lockTimeoutMs: number;
  /** How many times a step that hit lock_timeout is retried. Default 5. */
  lockRetries: number;
  /** statement_timeout for migration and resync statements, ms (0 = none). Default 0. */
  statementTimeoutMs: number;
  /** How long `migrate` (and `resync`) wait for another dbops run on the same family (target), ms. Default 10000. */
  migrationLockWaitMs: number;
  /** Rows (or keys) per committed batch for backfills, copies and resyncs. Default 10000. */
  batchSize: number;
  checks: {
    /** statement_timeout inside check transactions, ms. Default 60000. */
    statementTimeoutMs: number;
    /** Offending keys shown per finding. Default 5. */
    sampleSize: number;
  };
  skew: SkewSettings;
  /** Fleet mode: the targets `--target <name...>` selects from (see docs/fleet.md). */
  targets: FleetTarget[] | undefined;
  /**
   * Who writes a column that a family would add but the database already has
   * (`"<table>.<column>"` in the family's schema): `"app"` (the application maintains it: the
   * family cannot take it over and refuses, saying so) or `"dbops"` (nothing but dbops will
   * write it from now on: the family adopts it, saving its values for down). Asked for only
   * where the catalog cannot tell, e.g. `conversations.member_count`. Default: none declared.
   */
  columnWriters: Record<string, ColumnWriter>;
}

/** See ResolvedConfig.columnWriters. */
export type ColumnWriter = 'app' | 'dbops';

export const DEFAULT_SCHEMAS: Record<FamilyName, string> = {
  lookup: 'queen',
  partition: 'public',
  checkpoint: 'beckett',
  sequence: 'public',
};

export function defaultConfig(): ResolvedConfig {
  return {
    file: undefined,
    databaseUrl: undefined,
    families: undefined,
    schemas: { ...DEFAULT_SCHEMAS },
    lockTimeoutMs: 3000,
    lockRetries: 5,
    statementTimeoutMs: 0,
    migrationLockWaitMs: 10_000,
    batchSize: 10_000,
    checks: { statementTimeoutMs: 60_000, sampleSize: 5 },
    skew: { table: 'chunks', warn: 1.1, fail: 1.2, hot: 1.2, cold: 0.8 },
    targets: undefined,
    columnWriters: {},
  };
}

export const CONFIG_FILE_NAMES = ['dbops.config.json', 'dbops.config.js', 'dbops.config.ts'];

/**
 * Loads `explicitPath` (it must exist) or the first default config file found in `cwd`, and
 * validates it. Every problem is collected and reported at once in one ConfigError.
 */
export async function loadConfig(cwd: string, explicitPath?: string): Promise<ResolvedConfig> {
  const path = explicitPath
    ? resolve(cwd, explicitPath)
    : CONFIG_FILE_NAMES.map((n) => resolve(cwd, n)).find((p) => existsSync(p));
  if (!path) return defaultConfig();
  if (!existsSync(path)) throw new ConfigError(path, ['file not found']);
  return validateConfig(await readConfigFile(path), path);
}

async function readConfigFile(path: string): Promise<unknown> {
  try {
    if (path.endsWith('.json')) return JSON.parse(readFileSync(path, 'utf8'));
    if (path.endsWith('.ts')) {
      const { jiti } = await import('node-pg-migrate');
      return await jiti.import(path, { default: true });
    }
    const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    return mod.default;
  } catch (err) {
    throw new ConfigError(path, [`cannot be read: ${err instanceof Error ? err.message : err}`]);
  }
}

type Problems = string[];

/** Validates raw config data into a ResolvedConfig, or throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, file: string): ResolvedConfig {
  const config = defaultConfig();
  config.file = file;
  const problems: Problems = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(file, ['the top level must be an object']);
  }
  const obj = raw as Record<string, unknown>;
  const known = new Set([
    '$schema',
    'databaseUrl',
    'families',
    'schemas',
    'lockTimeoutMs',
    'lockRetries',
    'statementTimeoutMs',
    'migrationLockWaitMs',
    'batchSize',
    'checks',
    'skew',
    'targets',
    'columnWriters',
  ]);
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) problems.push(`${key}: unknown key (known: ${[...known].join(', ')})`);
  }
  if (obj.databaseUrl !== undefined) {
    if (typeof obj.databaseUrl === 'string') config.databaseUrl = obj.databaseUrl;
    else problems.push('databaseUrl: must be a string');
  }
  if (obj.families !== undefined) config.families = readFamilies(obj.families, problems);
  if (obj.targets !== undefined) config.targets = readTargetList(obj.targets, 'targets', problems);
  if (obj.schemas !== undefined) readSchemas(obj.schemas, config, problems);
  if (obj.columnWriters !== undefined) readColumnWriters(obj.columnWriters, config, problems);
  config.lockTimeoutMs = readInt(obj, 'lockTimeoutMs', config.lockTimeoutMs, 1, problems);
  config.lockRetries = readInt(obj, 'lockRetries', config.lockRetries, 0, problems);
  config.statementTimeoutMs = readInt(obj, 'statementTimeoutMs', 0, 0, problems);
  config.migrationLockWaitMs = readInt(obj, 'migrationLockWaitMs', 10_000, 0, problems);
  config.batchSize = readInt(obj, 'batchSize', config.batchSize, 1, problems);
  const checks = readSection(obj, 'checks', ['statementTimeoutMs', 'sampleSize'], problems);
  config.checks.statementTimeoutMs = readInt(
    checks,
    'checks.statementTimeoutMs',
    60_000,
    1,
    problems,
  );
  config.checks.sampleSize = readInt(checks, 'checks.sampleSize', 5, 0, problems);
  const skew = readSection(obj, 'skew', ['table', 'warn', 'fail', 'hot', 'cold'], problems);
  if (skew.table !== undefined) {
    if (typeof skew.table === 'string' && skew.table !== '') config.skew.table = skew.table;
    else problems.push('skew.table: must be a non-empty string');
  }
  for (const key of ['warn', 'fail', 'hot', 'cold'] as const) {
    config.skew[key] = readRatio(skew, key, config.skew[key], problems);
  }
  if (config.skew.warn > config.skew.fail) {
    problems.push(
      `skew.warn (${config.skew.warn}) must not exceed skew.fail (${config.skew.fail})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

function readFamilies(value: unknown, problems: Problems): FamilyName[] | undefined {
  if (!Array.isArray(value)) {
    problems.push(`families: must be an array of ${FAMILY_NAMES.join(', ')}`);
    return undefined;
  }
  const families: FamilyName[] = [];
  for (const [i, name] of value.entries()) {
    if (typeof name === 'string' && isFamilyName(name)) families.push(name);
    else
      problems.push(
        `families[${i}]: unknown family ${JSON.stringify(name)} (known: ${FAMILY_NAMES.join(', ')})`,
      );
  }
  return families;
}

function readSchemas(value: unknown, config: ResolvedConfig, problems: Problems): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('schemas: must be an object mapping family to schema name');
    return;
  }
  for (const [family, schema] of Object.entries(value)) {
    if (!isFamilyName(family)) {
      problems.push(`schemas.${family}: unknown family (known: ${FAMILY_NAMES.join(', ')})`);
    } else if (typeof schema !== 'string' || schema === '' || Buffer.byteLength(schema) > 63) {
      problems.push(`schemas.${family}: must be a schema name of 1 to 63 bytes`);
    } else {
      config.schemas[family] = schema;
    }
  }
}

function readColumnWriters(value: unknown, config: ResolvedConfig, problems: Problems): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(
      'columnWriters: must be an object mapping "<table>.<column>" to "app" or "dbops"',
    );
    return;
  }
  for (const [column, writer] of Object.entries(value)) {
    if (!/^[^.\s]+\.[^.\s]+$/.test(column))
      problems.push(`columnWriters.${column}: the key must be "<table>.<column>"`);
    else if (writer !== 'app' && writer !== 'dbops')
      problems.push(
        `columnWriters.${column}: must be "app" (the application writes it) or "dbops" (dbops may take it over), got ${JSON.stringify(writer)}`,
      );
    else config.columnWriters[column] = writer;
  }
}

function readSection(
  obj: Record<string, unknown>,
  key: string,
  allowed: string[],
  problems: Problems,
): Record<string, unknown> {
  const value = obj[key];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${key}: must be an object`);
    return {};
  }
  const section = value as Record<string, unknown>;
  for (const k of Object.keys(section)) {
    if (!allowed.includes(k))
      problems.push(`${key}.${k}: unknown key (known: ${allowed.join(', ')})`);
  }
  return section;
}

function readInt(
  obj: Record<string, unknown>,
  path: string,
  fallback: number,
  min: number,
  problems: Problems,
): number {
  const value = obj[path.split('.').at(-1)!];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    problems.push(`${path}: must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return value;
}

function readRatio(
  obj: Record<string, unknown>,
  key: string,
  fallback: number,
  problems: Problems,
): number {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    problems.push(`skew.${key}: must be a positive number, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return value;
}

import type pg from 'pg';
import type { SkewSettings } from '../config.js';
import type { SchemaManifest } from './manifest.js';

export type Severity = 'fail' | 'warn';
/** `check consistency` runs consistency checks, `check schema` schema checks; `check all` every kind. */
export type CheckKind = 'consistency' | 'schema' | 'skew';
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped' | 'error';

interface CheckBase {
  /** Stable id, e.g. lookup.missing. */
  id: string;
  /** What the check finds, in one line. */
  title: string;
  /** Status when it finds something. */
  severity: Severity;
  kind: CheckKind;
  /** The command that fixes a finding. */
  hint: string;
}

/**
 * A check that is a query: `sql` returns one row per offending entity with a text column `key`
 * (the sample shows the first keys in order). It runs with search_path = the family's schema,
 * inside the family's READ ONLY snapshot, so it reads exactly what it says.
 */
export interface SqlCheck extends CheckBase {
  type: 'sql';
  sql: string;
}

/** A check computed in code (schema comparison, skew); it must only read. */
export interface CustomCheck extends CheckBase {
  type: 'custom';
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

export type Check = SqlCheck | CustomCheck;

export interface CheckContext {
  client: pg.ClientBase;
  family: string;
  schema: string;
  /**
   * Manifests of the family's applied migrations, oldest first. Loaded only when a schema check
   * runs (it imports every applied migration module); empty for the other kinds.
   */
  manifests: SchemaManifest[];
  skew: SkewSettings;
  /** Count rows exactly instead of trusting statistics (`--exact`). */
  exact: boolean;
  sampleSize: number;
}

export interface CheckOutcome {
  count: number;
  sample: string[];
  /** Overrides the status derived from count and severity (skew bands). */
  status?: CheckStatus;
  message?: string;
  details?: Record<string, unknown>;
}

export interface CheckResult {
  id: string;
  family: string;
  title: string;
  severity: Severity;
  kind: CheckKind;
  status: CheckStatus;
  count: number;
  sample: string[];
  hint: string;
  message?: string;
  details?: Record<string, unknown>;
  durationMs: number;
}

/** Identity helpers so check files are typed where they are written. */
export function sqlCheck(check: Omit<SqlCheck, 'type' | 'kind'> & { kind?: CheckKind }): SqlCheck {
  return { kind: 'consistency', ...check, type: 'sql' };
}

export function customCheck(check: Omit<CustomCheck, 'type'>): CustomCheck {
  return { ...check, type: 'custom' };
}

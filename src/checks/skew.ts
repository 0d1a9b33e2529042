import type pg from 'pg';
import type { SkewSettings } from '../config.js';
import { quoteQualified } from '../db/ident.js';
import { UsageError } from '../errors.js';
import type { Progress } from '../progress.js';

export type SkewStatus = 'HEALTHY' | 'WARNING' | 'REBALANCE NEEDED';

/** Balance of one partitioned table, as `check skew` reports it. */
export interface SkewAnalysis {
  table: string;
  /** estimate: pg_class.reltuples (statistics were fresh); exact: count(*) per partition. */
  method: 'estimate' | 'exact';
  /** Why estimates were not used although --exact was not given. */
  fallbackReason?: string;
  partitions: { name: string; rows: number }[];
  total: number;
  avg: number;
  max: number;
  /** max/avg over all partitions, empty ones included; null when the table is empty. */
  ratio: number | null;
  /** Coefficient of variation, stddev/mean (population). */
  cv: number | null;
  hot: string[];
  cold: string[];
  status: SkewStatus;
}

interface Leaf {
  schema: string;
  name: string;
  reltuples: number;
  modsSinceAnalyze: number | null;
}

/**
 * Rows per leaf partition of `table` (resolved through search_path), by statistics when they can
 * be trusted, else (or with `exact`) by count(*). Statistics are trusted when every partition has
 * been analyzed (reltuples >= 0) and none changed by more than autovacuum's default analyze
 * threshold (50 rows + 10%) since.
 */
export async function analyzeSkew(
  client: pg.ClientBase,
  table: string,
  settings: SkewSettings,
  exact: boolean,
  progress?: Progress,
): Promise<SkewAnalysis> {
  const leaves = await leavesOf(client, table);
  const stale = leaves.filter(
    (l) => l.reltuples < 0 || (l.modsSinceAnalyze ?? 0) > 50 + 0.1 * l.reltuples,
  );
  const useExact = exact || stale.length > 0;
  const partitions: { name: string; rows: number }[] = [];
  progress?.start(`counting rows of ${table}`, leaves.length);
  for (const leaf of leaves) {
    const rows = useExact ? await countRows(client, leaf) : Math.round(leaf.reltuples);
    partitions.push({ name: leaf.name, rows });
    if (useExact) progress?.update(partitions.length);
  }
  if (useExact) progress?.finish();
  return {
    table,
    method: useExact ? 'exact' : 'estimate',
    ...(!exact && stale.length > 0
      ? {
          fallbackReason: `${stale.length} of ${leaves.length} partitions have stale or missing statistics (run ANALYZE to use estimates)`,
        }
      : {}),
    ...summarize(partitions, settings),
  };
}

/** The numbers and status for given per-partition counts (pure; unit-tested). */
export function summarize(
  partitions: { name: string; rows: number }[],
  settings: SkewSettings,
): Omit<SkewAnalysis, 'table' | 'method' | 'fallbackReason'> {
  const n = partitions.length;
  const total = partitions.reduce((s, p) => s + p.rows, 0);
  const avg = n > 0 ? total / n : 0;
  const max = partitions.reduce((m, p) => Math.max(m, p.rows), 0);
  const ratio = avg > 0 ? max / avg : null;
  const variance = n > 0 ? partitions.reduce((s, p) => s + (p.rows - avg) ** 2, 0) / n : 0;
  const cv = avg > 0 ? Math.sqrt(variance) / avg : null;
  const status: SkewStatus =
    ratio === null || ratio <= settings.warn
      ? 'HEALTHY'
      : ratio <= settings.fail
        ? 'WARNING'
        : 'REBALANCE NEEDED';
  return {
    partitions,
    total,
    avg,
    max,
    ratio,
    cv,
    hot: avg > 0 ? partitions.filter((p) => p.rows > settings.hot * avg).map((p) => p.name) : [],
    cold: avg > 0 ? partitions.filter((p) => p.rows < settings.cold * avg).map((p) => p.name) : [],
    status,
  };
}

async function leavesOf(client: pg.ClientBase, table: string): Promise<Leaf[]> {
  const { rows: found } = await client.query<{ oid: number | null; partitioned: boolean }>(
    `SELECT c.oid::int AS oid, c.relkind = 'p' AS partitioned FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [table],
  );
  if (!found[0]?.partitioned) {
    throw new UsageError(
      `${table} ${found[0] ? 'is not a partitioned table' : 'does not exist'}`,
      'Pass --table with a partitioned table (schema-qualified if it is not in the partition family schema).',
    );
  }
  const { rows } = await client.query<{
    schema: string;
    name: string;
    reltuples: number;
    mods: string | null;
  }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS reltuples, s.n_mod_since_analyze AS mods
       FROM pg_partition_tree($1::oid) t
       JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
      WHERE t.isleaf ORDER BY c.relname`,
    [found[0].oid],
  );
  return rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    reltuples: r.reltuples,
    modsSinceAnalyze: r.mods === null ? null : Number(r.mods),
  }));
}

async function countRows(client: pg.ClientBase, leaf: Leaf): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${quoteQualified(leaf.schema, leaf.name)}`,
  );
  return Number(rows[0]!.n);
}

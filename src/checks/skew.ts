import type pg from 'pg';
import type { SkewSettings } from '../config.js';
import { quoteIdent, quoteQualified } from '../db/ident.js';
import { UsageError } from '../errors.js';
import type { Progress } from '../progress.js';
import { adviceFor } from './skewAdvice.js';
import { diagnoseKeys, type KeyDiagnosis } from './skewBound.js';

export type SkewStatus = 'HEALTHY' | 'WARNING' | 'REBALANCE NEEDED';

/** Balance of one partitioned table, as `check skew` reports it. */
export interface SkewAnalysis {
  table: string;
  /**
   * estimate: pg_class.reltuples (statistics were fresh), and rows per key from pg_stats' most
   * common values when they are judged; exact: count(*) per partition (per key when judged).
   */
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
  /**
   * Without keys: max/avg against warn/fail. With keys: the same bands applied to keys.excess
   * (current max / the best max any assignment could reach), so skew that no placement can
   * avoid does not ask for a rebalance.
   */
  status: SkewStatus;
  /** balanced: max/avg within warn; structural: no placement does much better; hash: one does. */
  cause: 'balanced' | 'structural' | 'hash' | 'unknown';
  /** What an operator can do, naming partitions and keys. */
  advice: string;
  /** Present when the table has a key column and rows were counted per key. */
  keys?: KeyDiagnosis;
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
  let useExact = exact || stale.length > 0;
  let fallbackReason =
    !exact && stale.length > 0
      ? `${stale.length} of ${leaves.length} partitions have stale or missing statistics (run ANALYZE to use estimates)`
      : undefined;
  const column = await keyColumnOf(client, table);
  let byKey: Map<string, Map<string, number>> | undefined;
  let partitions: { name: string; rows: number }[];
  if (useExact && column) {
    byKey = await countByKey(client, table, leaves, column, progress);
    partitions = [...byKey].map(([name, keys]) => ({ name, rows: sumOf(keys) }));
  } else {
    partitions = [];
    progress?.start(`counting rows of ${table}`, leaves.length);
    for (const leaf of leaves) {
      const rows = useExact ? await countRows(client, leaf) : Math.round(leaf.reltuples);
      partitions.push({ name: leaf.name, rows });
      if (useExact) progress?.update(partitions.length);
    }
    if (useExact) progress?.finish();
  }
  let summary = summarize(partitions, settings, column && byKey ? { column, byKey } : undefined);
  if (column && !byKey && summary.cause !== 'balanced') {
    // Estimates show skew: whether a placement could do better needs rows per key. The
    // statistics have them when every leaf's most common values list all its keys (ANALYZE
    // keeps every value it saw when they fit the statistics target); else a scan counts them.
    byKey = await keysFromStatistics(client, leaves, column);
    if (!byKey) {
      byKey = await countByKey(client, table, leaves, column, progress);
      useExact = true;
      fallbackReason = `estimates showed skew; rows counted per ${column} to judge it (the statistics do not list every ${column} of every partition)`;
    }
    partitions = [...byKey].map(([name, keys]) => ({ name, rows: sumOf(keys) }));
    summary = summarize(partitions, settings, { column, byKey });
  }
  return {
    table,
    method: useExact ? 'exact' : 'estimate',
    ...(fallbackReason ? { fallbackReason } : {}),
    ...summary,
  };
}

/** The numbers and status for given per-partition counts (pure; unit-tested). */
export function summarize(
  partitions: { name: string; rows: number }[],
  settings: SkewSettings,
  perKey?: { column: string; byKey: Map<string, Map<string, number>> },
): Omit<SkewAnalysis, 'table' | 'method' | 'fallbackReason'> {
  const n = partitions.length;
  const total = partitions.reduce((s, p) => s + p.rows, 0);
  const avg = n > 0 ? total / n : 0;
  const max = partitions.reduce((m, p) => Math.max(m, p.rows), 0);
  const ratio = avg > 0 ? max / avg : null;
  const variance = n > 0 ? partitions.reduce((s, p) => s + (p.rows - avg) ** 2, 0) / n : 0;
  const cv = avg > 0 ? Math.sqrt(variance) / avg : null;
  const band = (x: number | null): SkewStatus =>
    x === null || x <= settings.warn
      ? 'HEALTHY'
      : x <= settings.fail
        ? 'WARNING'
        : 'REBALANCE NEEDED';
  const hot =
    avg > 0 ? partitions.filter((p) => p.rows > settings.hot * avg).map((p) => p.name) : [];
  const cold =
    avg > 0 ? partitions.filter((p) => p.rows < settings.cold * avg).map((p) => p.name) : [];
  const keys = perKey ? diagnoseKeys(perKey.column, perKey.byKey, hot) : undefined;
  const status = band(ratio) === 'HEALTHY' ? 'HEALTHY' : band(keys ? keys.excess : ratio);
  const cause =
    band(ratio) === 'HEALTHY'
      ? 'balanced'
      : !keys
        ? 'unknown'
        : status === 'HEALTHY'
          ? 'structural'
          : 'hash';
  const base = { partitions, total, avg, max, ratio, cv, hot, cold, status, cause } as const;
  return { ...base, advice: adviceFor({ ...base, keys }, cold), ...(keys ? { keys } : {}) };
}

/**
 * The column whose rows stay together: a single-column HASH key, else collection_id when the
 * table has it (dbops' LIST key is a function of it), else none (only row counts are judged).
 */
async function keyColumnOf(client: pg.ClientBase, table: string): Promise<string | undefined> {
  const { rows } = await client.query<{ hash_column: string | null; has_collection: boolean }>(
    `SELECT (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = p.partrelid
               AND a.attnum = p.partattrs[0] AND p.partstrat = 'h' AND p.partnatts = 1) AS hash_column,
            EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = p.partrelid
                       AND a.attname = 'collection_id' AND NOT a.attisdropped) AS has_collection
       FROM pg_partitioned_table p WHERE p.partrelid = to_regclass($1)`,
    [table],
  );
  const r = rows[0];
  return r?.hash_column ?? (r?.has_collection ? 'collection_id' : undefined);
}

/**
 * Leaves counted per statement: one UNION ALL of per-leaf GROUP BY scans (identifiers quoted, no
 * parameters), so a table of 100 partitions costs 2 round trips instead of 100 while each branch
 * still plans and scans one leaf, and the server can spread the branches over parallel workers
 * (a Parallel Append, as count(*) over the parent table gets: as separate statements the scans
 * ran one after another and took about twice as long).
 */
const LEAVES_PER_ROUND_TRIP = 64;

/** Rows per key per leaf (one GROUP BY scan per leaf), leaves in order. */
async function countByKey(
  client: pg.ClientBase,
  table: string,
  leaves: Leaf[],
  column: string,
  progress?: Progress,
): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  progress?.start(`counting rows of ${table} per ${column}`, leaves.length);
  for (let from = 0; from < leaves.length; from += LEAVES_PER_ROUND_TRIP) {
    const group = leaves.slice(from, from + LEAVES_PER_ROUND_TRIP);
    const sql = group
      .map(
        (leaf, i) =>
          `SELECT ${i} AS leaf, ${quoteIdent(column)}::text AS key, count(*)::float8 AS n FROM ${quoteQualified(leaf.schema, leaf.name)} GROUP BY 2`,
      )
      .join('\nUNION ALL\n');
    const { rows } = await client.query<{ leaf: number; key: string | null; n: number }>(sql);
    const keys = group.map(() => new Map<string, number>());
    for (const r of rows) keys[r.leaf]!.set(r.key ?? '(null)', r.n);
    group.forEach((leaf, i) => {
      out.set(leaf.name, keys[i]!);
    });
    progress?.update(out.size);
  }
  progress?.finish();
  return out;
}

/**
 * Rows per key per leaf from the statistics (pg_stats, read only): each key's share of the leaf
 * (most_common_freqs) times the leaf's reltuples, NULL keys from null_frac. Undefined unless
 * every leaf that has rows has statistics whose most common values list all its keys (their
 * frequencies and null_frac add up to the whole leaf): then the list is every value ANALYZE saw,
 * exact when it read the whole leaf (a leaf of at most 300 x the statistics target rows), else
 * from its sample, like reltuples. A leaf with more keys than the statistics target keeps
 * only the most common: then the rows are counted instead.
 */
async function keysFromStatistics(
  client: pg.ClientBase,
  leaves: Leaf[],
  column: string,
): Promise<Map<string, Map<string, number>> | undefined> {
  const { rows } = await client.query<{
    i: number;
    null_frac: number | null;
    vals: string[] | null;
    freqs: number[] | null;
  }>(
    `SELECT l.i::int AS i, s.null_frac::float8 AS null_frac,
            s.most_common_vals::text::text[] AS vals, s.most_common_freqs::float8[] AS freqs
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS l(schema, name, i)
       LEFT JOIN pg_stats s ON s.schemaname = l.schema AND s.tablename = l.name
             AND s.attname = $3 AND NOT s.inherited`,
    [leaves.map((l) => l.schema), leaves.map((l) => l.name), column],
  );
  const out = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const leaf = leaves[r.i - 1]!;
    const keys = new Map<string, number>();
    out.set(leaf.name, keys);
    if (leaf.reltuples <= 0) continue;
    if (r.null_frac === null) return undefined;
    const vals = r.vals ?? [];
    const freqs = r.freqs ?? [];
    const covered = r.null_frac + freqs.reduce((sum, f) => sum + f, 0);
    if (vals.length !== freqs.length || covered < 0.999) return undefined;
    vals.forEach((v, j) => {
      keys.set(v, Math.max(1, Math.round(freqs[j]! * leaf.reltuples)));
    });
    const nulls = Math.round(r.null_frac * leaf.reltuples);
    if (nulls > 0) keys.set('(null)', nulls);
  }
  // Leaves in the caller's order (the rows come back in it too, but nothing promises that).
  return new Map(leaves.map((l) => [l.name, out.get(l.name) ?? new Map<string, number>()]));
}

function sumOf(keys: Map<string, number>): number {
  let sum = 0;
  for (const n of keys.values()) sum += n;
  return sum;
}

/**
 * The leaf partitions keys are placed in. A DEFAULT partition is left out: it is no placement
 * target (the partition family's chunks_default only holds rows of writers without the key for
 * the moment of their statement; rows left there are the schema and misrouted checks' finding).
 */
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
      WHERE t.isleaf AND pg_get_expr(c.relpartbound, c.oid) IS DISTINCT FROM 'DEFAULT'
      ORDER BY c.relname`,
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

/**
 * How balanced a partitioned table COULD be, given that rows of one key (collection) never split
 * across partitions. Pure functions; unit-tested in test/unit/skewBound.test.ts.
 *
 * Placing keys of sizes p1 >= p2 >= ... >= pn on m partitions so that the largest partition is as
 * small as possible is the makespan problem (P||Cmax, NP-hard), so we report a LOWER BOUND on the
 * best possible largest partition, and next to it what a simple greedy placement reaches:
 *   L0 = ceil(total / m)                      some partition holds at least the average;
 *   L1 = p1                                   the largest key sits whole in one partition;
 *   Lk = p(km-k+1) + ... + p(km+1), k >= 1    of the km+1 largest keys, k+1 share a partition
 *                                             (pigeonhole), and they weigh at least the k+1
 *                                             smallest of those km+1.
 * bound = max(L0, L1, Lk for every k with km+1 <= n). No assignment has a smaller maximum.
 * The greedy (largest key first onto the emptiest partition, LPT) gives an assignment whose
 * maximum is at most 4/3 of the optimum; when it equals the bound, the bound is exact.
 */

/** Lower bound on the largest partition any assignment of `sizes` to `m` partitions must have. */
export function bestMaxLowerBound(sizes: number[], m: number): number {
  if (m <= 0 || sizes.length === 0) return 0;
  const p = [...sizes].sort((a, b) => b - a);
  const total = p.reduce((s, x) => s + x, 0);
  let bound = Math.max(Math.ceil(total / m), p[0]!);
  for (let k = 1; k * m + 1 <= p.length; k++) {
    let sum = 0;
    for (let i = k * m - k; i <= k * m; i++) sum += p[i]!;
    bound = Math.max(bound, sum);
  }
  return bound;
}

/** Largest partition of the greedy LPT placement (an assignment that really exists). */
export function greedyMax(sizes: number[], m: number): number {
  if (m <= 0 || sizes.length === 0) return 0;
  const loads = new Array<number>(m).fill(0);
  for (const size of [...sizes].sort((a, b) => b - a)) {
    let min = 0;
    for (let i = 1; i < m; i++) if (loads[i]! < loads[min]!) min = i;
    loads[min]! += size;
  }
  return Math.max(...loads);
}

/** Rows of one key (collection) in one partition, with its share of that partition. */
export interface KeyShare {
  key: string;
  rows: number;
  /** rows / the partition's rows, 0..1. */
  share: number;
}

/** What the keys (collections) say about a table's skew. */
export interface KeyDiagnosis {
  /** The column whose value never splits across partitions (collection_id for chunks). */
  column: string;
  /** Distinct non-NULL values of `column`. */
  distinct: number;
  largest: { key: string; rows: number; partition: string } | null;
  /** Lower bound on the largest partition of ANY assignment of these keys (bestMaxLowerBound). */
  bestMax: number;
  /** bestMax / avg: the best max/avg any assignment could reach (at least). */
  bestRatio: number | null;
  /** max/avg of the greedy placement (an assignment that exists); = bestRatio when exact. */
  greedyRatio: number | null;
  /** current max / bestMax: how far the placement is from the best possible. 1 = optimal. */
  excess: number | null;
  /** The largest key alone is more than a partition's fair share (total / partitions). */
  oversized: boolean;
  /** Per hot partition (largest first): the keys that make it hot, largest first. */
  hot: { partition: string; rows: number; keys: KeyShare[] }[];
}

/**
 * The key diagnosis for per-partition, per-key row counts. `hot` names the partitions whose
 * contributors are listed (the analysis' hot list).
 */
export function diagnoseKeys(
  column: string,
  byPartition: Map<string, Map<string, number>>,
  hot: string[],
): KeyDiagnosis {
  // Rows per key and the partition it was first seen in (plain maps: a table has one entry per
  // collection, tens of thousands, so no object per key).
  const sizes = new Map<string, number>();
  const home = new Map<string, string>();
  let total = 0;
  for (const [partition, keys] of byPartition) {
    for (const [key, rows] of keys) {
      const seen = sizes.get(key);
      // A key in two partitions is misrouted (check misrouted says so); count it whole here.
      if (seen === undefined) {
        sizes.set(key, rows);
        home.set(key, partition);
      } else sizes.set(key, seen + rows);
      total += rows;
    }
  }
  const m = byPartition.size;
  const avg = m > 0 ? total / m : 0;
  const rowsOf = (keys: Map<string, number>) => [...keys.values()].reduce((s, x) => s + x, 0);
  const max = Math.max(0, ...[...byPartition.values()].map(rowsOf));
  // The largest key: the first seen of the largest size (what a stable sort would put first).
  let largest: KeyDiagnosis['largest'] = null;
  for (const [key, rows] of sizes)
    if (largest === null || rows > largest.rows) largest = { key, rows, partition: home.get(key)! };
  const values = [...sizes.values()].sort((a, b) => b - a);
  const bestMax = bestMaxLowerBound(values, m);
  const hotList = hot
    .map((partition) => {
      const keys = byPartition.get(partition) ?? new Map<string, number>();
      const rows = rowsOf(keys);
      const shares = [...keys]
        .map(([key, n]) => ({ key, rows: n, share: rows > 0 ? n / rows : 0 }))
        .sort((a, b) => b.rows - a.rows);
      return { partition, rows, keys: shares };
    })
    .sort((a, b) => b.rows - a.rows);
  return {
    column,
    distinct: sizes.size,
    largest,
    bestMax,
    bestRatio: avg > 0 ? bestMax / avg : null,
    greedyRatio: avg > 0 ? greedyMax(values, m) / avg : null,
    excess: bestMax > 0 ? max / bestMax : null,
    oversized: largest !== null && largest.rows > avg,
    hot: hotList,
  };
}

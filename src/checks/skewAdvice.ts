import type { SkewAnalysis } from './skew.js';
import type { KeyDiagnosis, KeyShare } from './skewBound.js';

/**
 * The sentence `check skew` gives as its hint (SkewAnalysis.advice). Structural skew names the
 * collection that no placement can spread; a hash imbalance names the collections to move out of
 * the worst partition. dbops' LIST key is a function of collection_id, so a "move" is advice for
 * a placement change (an override of the key), which dbops does not make itself.
 */
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** One sentence an operator can act on (see SkewAnalysis.cause). */
export function adviceFor(
  a: Pick<SkewAnalysis, 'partitions' | 'avg' | 'cause'> & { keys: KeyDiagnosis | undefined },
  cold: string[],
): string {
  const k = a.keys;
  if (a.cause === 'balanced') return 'balanced: nothing to do';
  if (!k) return 'rebalance: review the hot partitions (dbops check skew --exact)';
  const rowsOf = (name: string) => a.partitions.find((p) => p.name === name)?.rows ?? 0;
  const big = k.largest;
  const bigPart = big
    ? `${k.column} ${big.key} holds ${pct(big.rows / Math.max(1, rowsOf(big.partition)))} of ${big.partition} ` +
      `(${(big.rows / a.avg).toFixed(1)}x a partition's fair share)`
    : '';
  if (a.cause === 'structural') {
    return k.oversized
      ? `${bigPart}: structural, no rebalance possible; consider sub-partitioning ${big?.key}`
      : `${k.distinct} ${k.column} values over ${a.partitions.length} partitions cannot reach max/avg ` +
          `below ${k.bestRatio?.toFixed(2)}: structural, no rebalance possible`;
  }
  // The worst partition must shed at least (its rows - the greedy placement's max): the largest
  // keys other than its biggest, largest first, until that much has moved.
  const worst = k.hot[0];
  const reachable = (k.greedyRatio ?? 1) * a.avg;
  const moved: KeyShare[] = [];
  let sum = 0;
  for (const key of worst?.keys.slice(1) ?? []) {
    if (worst && sum >= worst.rows - reachable) break;
    moved.push(key);
    sum += key.rows;
  }
  const names = moved.slice(0, 3).map((m) => `${m.key} (${pct(m.share)})`);
  if (moved.length > 3) names.push(`${moved.length - 3} more`);
  const to =
    cold.length > 0 ? `to the cold partitions (${cold.slice(0, 3).join(', ')}...)` : 'elsewhere';
  const moves =
    worst && moved.length > 0
      ? `move ${moved.length} ${k.column} (${sum} rows) out of ${worst.partition} ${to}: ${names.join(', ')}`
      : 'move keys from the hot partitions to the cold ones';
  return (
    `hash imbalance: a placement with max/avg ${k.greedyRatio?.toFixed(2)} exists (no placement ` +
    `gets below ${k.bestRatio?.toFixed(2)}): ${moves}${k.oversized ? `; ${bigPart}: that part is structural` : ''}`
  );
}

import { analyzeSkew } from '../../src/checks/skew.js';
import { customCheck } from '../../src/checks/types.js';

/**
 * Balance of the partitioned table named by skew.table (default chunks): max/avg over all
 * partitions, empty ones included. HEALTHY <= warn < WARNING <= fail < REBALANCE NEEDED.
 * With a key column (collection_id) the bands apply to current max / the best max any placement
 * of the keys could reach (src/checks/skewBound.ts), so unavoidable skew is not a rebalance.
 * Count = hot (> hot x avg) plus cold (< cold x avg) partitions.
 */
export default customCheck({
  id: 'partition.skew',
  title: 'rows per partition: max/avg within the warn and fail ratios',
  severity: 'fail',
  kind: 'skew',
  hint: 'rebalance: review the hot partitions (dbops check skew --exact)',
  async run(ctx) {
    const a = await analyzeSkew(ctx.client, ctx.skew.table, ctx.skew, ctx.exact);
    const status = a.status === 'HEALTHY' ? 'ok' : a.status === 'WARNING' ? 'warn' : 'fail';
    return {
      status,
      count: a.hot.length + a.cold.length,
      sample: [...a.hot, ...a.cold].slice(0, ctx.sampleSize),
      message: `${a.status}: max/avg ${a.ratio === null ? 'n/a (empty)' : a.ratio.toFixed(2)}, CV ${a.cv === null ? 'n/a' : a.cv.toFixed(2)}${a.keys ? `, ${a.keys.distinct} ${a.keys.column}, best reachable ${a.keys.bestRatio?.toFixed(2) ?? 'n/a'} (${a.cause})` : ''}, ${a.method === 'exact' ? 'exact counts' : 'estimated counts'}${a.cause === 'balanced' ? '' : `. ${a.advice}`}`,
      details: { skew: a },
    };
  },
});

import type { CheckContext, CheckOutcome } from './types.js';

/**
 * Several checks of a family answered by one query: `sql` takes the sample size as $1 and returns
 * one row per finding found (finding, count, sample). The query runs once per check run (context),
 * on first use, so the checks share its snapshot and its pass over the tables; a finding without a
 * row is ok (count 0).
 */
export function sharedFindings<Finding extends string>(
  sql: string,
): (ctx: CheckContext, finding: Finding) => Promise<CheckOutcome> {
  const runs = new WeakMap<CheckContext, Promise<Map<string, CheckOutcome>>>();
  return async (ctx, finding) => {
    let run = runs.get(ctx);
    if (!run) {
      run = ctx.client
        .query<{ finding: string; count: number; sample: string[] }>(sql, [ctx.sampleSize])
        .then(
          ({ rows }) => new Map(rows.map((r) => [r.finding, { count: r.count, sample: r.sample }])),
        );
      runs.set(ctx, run);
    }
    return (await run).get(finding) ?? { count: 0, sample: [] };
  };
}

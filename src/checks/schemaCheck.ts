import { type CustomCheck, customCheck } from './types.js';

/**
 * The `<family>.schema` check: the catalog against the `installs` manifests of the family's
 * applied migrations (tables, columns, indexes present and valid, triggers present, enabled, on
 * the right table with the right timing/level/events, function bodies, views, partitions).
 * Count = number of problems; the sample lists them.
 */
export function schemaCheck(check: { id: string; title: string; hint: string }): CustomCheck {
  return customCheck({
    ...check,
    severity: 'fail',
    kind: 'schema',
    async run(ctx) {
      // Loaded when the check runs: a consistency check loads this file too (checks/<family>/).
      const { schemaProblems } = await import('./schema.js');
      const problems = await schemaProblems(ctx.client, ctx.schema, ctx.manifests);
      return { count: problems.length, sample: problems.slice(0, Math.max(ctx.sampleSize, 10)) };
    },
  });
}

import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { quoteIdent } from '../db/ident.js';
import { wrapPgError } from '../db/pgError.js';
import { withTransaction } from '../db/session.js';
import { DbopsError } from '../errors.js';
import { type AppliedMigration, readAppliedAll } from '../migrate/history.js';
import type { FamilyTarget } from '../migrate/runOne.js';
import { reasonsNotApplied } from '../migrate/status.js';
import { loadChecks } from './loader.js';
import type { Check, CheckContext, CheckKind, CheckOutcome, CheckResult } from './types.js';

/** Schema first: when objects are missing, that finding explains the errors that follow. */
const KIND_ORDER: CheckKind[] = ['schema', 'consistency', 'skew'];

export interface CheckRunOptions {
  client: pg.ClientBase;
  config: ResolvedConfig;
  kinds: CheckKind[];
  exact: boolean;
}

/**
 * Runs the checks of the given kinds for each family. A family whose migrations are not all
 * applied gets its checks reported as skipped, with the reason. Each family's checks run in one
 * READ ONLY REPEATABLE READ transaction (one consistent snapshot) with the checks' statement
 * timeout; a check that errors is reported as `error` and the others still run.
 */
export async function runChecks(
  options: CheckRunOptions,
  targets: FamilyTarget[],
  /** The targets' history when the caller has read it already (it must cover every target). */
  read?: Map<string, AppliedMigration[]>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  // One history read for all families (a fixed cost of every check command), used for the
  // not-applied reasons and the schema manifests alike.
  const history =
    read ??
    (await readAppliedAll(
      options.client,
      targets.map((t) => String(t.def.name)),
    ));
  const notApplied = reasonsNotApplied(targets, history);
  for (const target of targets) {
    const family = String(target.def.name);
    const checks = (await loadChecks(family))
      .filter((c) => options.kinds.includes(c.kind))
      .sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
    if (checks.length === 0) continue;
    const reason = notApplied.get(family);
    if (reason) {
      results.push(...checks.map((c) => skipped(c, family, reason)));
      continue;
    }
    const { client, config } = options;
    // The transaction's settings go with its BEGIN (one round trip; a simple query takes no
    // parameters, so the values are quoted literals).
    const settings = `SELECT set_config('statement_timeout', ${client.escapeLiteral(
      `${config.checks.statementTimeoutMs}ms`,
    )}, true), set_config('search_path', ${client.escapeLiteral(quoteIdent(target.schema))}, true)`;
    await withTransaction(
      client,
      async () => {
        const ctx: CheckContext = {
          client,
          family,
          schema: target.schema,
          manifests: checks.some((c) => c.kind === 'schema')
            ? await (await import('./schema.js')).appliedManifests(
                target.def,
                history.get(family) ?? [],
              )
            : [],
          skew: config.skew,
          exact: options.exact,
          sampleSize: config.checks.sampleSize,
        };
        for (const check of checks) results.push(await runOne(check, ctx));
      },
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${settings}`,
    );
  }
  return results;
}

async function runOne(check: Check, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  await ctx.client.query('SAVEPOINT dbops_check');
  try {
    const outcome = check.type === 'sql' ? await runSql(check.sql, ctx) : await check.run(ctx);
    await ctx.client.query('RELEASE SAVEPOINT dbops_check');
    const status = outcome.status ?? (outcome.count > 0 ? check.severity : 'ok');
    return { ...base(check, ctx.family), ...outcome, status, durationMs: Date.now() - started };
  } catch (err) {
    await ctx.client.query('ROLLBACK TO SAVEPOINT dbops_check');
    const wrapped = wrapPgError(err, check.type === 'sql' ? check.sql : undefined, check.id);
    if (!(wrapped instanceof DbopsError)) throw err;
    return {
      ...base(check, ctx.family),
      status: 'error',
      count: 0,
      sample: [],
      message: wrapped.message,
      durationMs: Date.now() - started,
    };
  }
}

/** Counts the offending rows and samples the first keys, in one statement. */
async function runSql(sql: string, ctx: CheckContext): Promise<CheckOutcome> {
  const { rows } = await ctx.client.query<{ count: string; sample: string[] }>(
    `WITH offending AS MATERIALIZED (${sql.trim().replace(/;$/, '')})
     SELECT (SELECT count(*) FROM offending) AS count,
            ARRAY(SELECT key::text FROM offending ORDER BY key LIMIT $1) AS sample`,
    [ctx.sampleSize],
  );
  return { count: Number(rows[0]!.count), sample: rows[0]!.sample };
}

function base(check: Check, family: string) {
  return {
    id: check.id,
    family,
    title: check.title,
    severity: check.severity,
    kind: check.kind,
    hint: check.hint,
    count: 0,
    sample: [] as string[],
  };
}

function skipped(check: Check, family: string, reason: string): CheckResult {
  return { ...base(check, family), status: 'skipped', message: reason, durationMs: 0 };
}

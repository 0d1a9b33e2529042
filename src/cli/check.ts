import type { Command } from 'commander';
import type pg from 'pg';
import type { SkewAnalysis } from '../checks/skew.js';
import type { CheckKind, CheckResult } from '../checks/types.js';
import { setSearchPath, withTransaction } from '../db/session.js';
import { UsageError } from '../errors.js';
import { checkReport, skewNotes } from '../report/checks.js';
import { type CommandContext, commandContext, withDatabase } from './context.js';
import { emit } from './output.js';

interface CheckOptions {
  failOn?: string;
  allowSkipped?: boolean;
  exact?: boolean;
  table?: string;
  warn?: string;
  fail?: string;
}

/** Registers `dbops check consistency|schema|skew|all`. */
export function registerCheck(program: Command, signal: AbortSignal): void {
  const check = program
    .command('check')
    .description('consistency, schema and skew health reports (exit 1 on findings)');
  const familyCommand = (name: string, kinds: CheckKind[], description: string) =>
    check
      .command(`${name} [family...]`)
      .description(description)
      .option('--fail-on <level>', 'exit 1 on warn or fail findings', 'fail')
      .option('--exact', 'count rows exactly for skew instead of trusting statistics')
      .option(
        '--allow-skipped',
        'a family that is not (fully) applied does not fail the run (default: it does, exit 1)',
      )
      .action((families: string[], opts: CheckOptions, cmd: Command) =>
        run(cmd, signal, opts, async (ctx, client) => {
          // Loaded when the command runs: the registry and check loader cost start-up time.
          const { checkedTargets, namedTargets } = await import('../migrate/targets.js');
          const { runChecks } = await import('../checks/runner.js');
          const targets =
            families.length > 0
              ? namedTargets(families, ctx.config)
              : await checkedTargets(client, ctx.config);
          const results = await runChecks(
            { client, config: ctx.config, kinds, exact: opts.exact === true },
            targets,
          );
          return { results, notes: notesFor(results, ctx) };
        }),
      );
  familyCommand('consistency', ['consistency'], 'derived data vs its sources, per invariant');
  familyCommand(
    'schema',
    ['schema'],
    'objects each applied migration must have (tables, valid indexes, triggers, functions, partitions)',
  );
  familyCommand(
    'all',
    ['schema', 'consistency', 'skew'],
    'everything: schema, consistency and skew (the CI step)',
  );

  check
    .command('skew')
    .description('partition balance of a partitioned table (default: chunks)')
    .option('--table <name>', 'partitioned table (default from config skew.table: chunks)')
    .option('--exact', 'count rows with count(*) instead of pg_class.reltuples estimates')
    .option('--warn <ratio>', 'max/avg above this is WARNING (default 1.1)')
    .option('--fail <ratio>', 'max/avg above this is REBALANCE NEEDED, exit 1 (default 1.2)')
    .option('--fail-on <level>', 'exit 1 on warn or fail findings', 'fail')
    .action((opts: CheckOptions, cmd: Command) =>
      run(cmd, signal, opts, async (ctx, client) => {
        const skew = {
          ...ctx.config.skew,
          table: parseTableName(opts.table ?? ctx.config.skew.table),
        };
        if (opts.warn !== undefined) skew.warn = ratio('--warn', opts.warn);
        if (opts.fail !== undefined) skew.fail = ratio('--fail', opts.fail);
        if (skew.warn > skew.fail)
          throw new UsageError(`--warn ${skew.warn} must not exceed --fail ${skew.fail}`);
        const started = Date.now();
        // Loaded here: every other command (and --help) would pay for the skew modules.
        const { analyzeSkew } = await import('../checks/skew.js');
        await setSearchPath(client, [ctx.config.schemas.partition]);
        const a = await withTransaction(
          client,
          () => analyzeSkew(client, skew.table, skew, opts.exact === true, ctx.progress),
          'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
        );
        const result: CheckResult = {
          id: 'partition.skew',
          family: 'partition',
          title: `rows per partition of ${skew.table}: max/avg within the warn and fail ratios`,
          severity: 'fail',
          kind: 'skew',
          status: a.status === 'HEALTHY' ? 'ok' : a.status === 'WARNING' ? 'warn' : 'fail',
          count: a.hot.length + a.cold.length,
          sample: [...a.hot, ...a.cold].slice(0, ctx.config.checks.sampleSize),
          hint: a.advice,
          message: a.status,
          details: { skew: a },
          durationMs: Date.now() - started,
        };
        return { results: [result], notes: skewNotes(a, skew) };
      }),
    );
}

async function run(
  cmd: Command,
  signal: AbortSignal,
  opts: CheckOptions,
  body: (
    ctx: CommandContext,
    client: pg.Client,
  ) => Promise<{ results: CheckResult[]; notes: string[] }>,
): Promise<void> {
  const failOn = opts.failOn ?? 'fail';
  if (failOn !== 'warn' && failOn !== 'fail')
    throw new UsageError(`--fail-on ${failOn}: use warn or fail`);
  const ctx = await commandContext(cmd, signal);
  await withDatabase(ctx, async (client) => {
    const started = new Date();
    const { results, notes } = await body(ctx, client);
    emit(
      ctx,
      checkReport(`check ${cmd.name()}`, started, results, notes, opts.allowSkipped === true),
      failOn,
    );
  });
}

function notesFor(results: CheckResult[], ctx: CommandContext): string[] {
  return results.flatMap((r) =>
    r.details?.skew ? skewNotes(r.details.skew as SkewAnalysis, ctx.config.skew) : [],
  );
}

function ratio(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} ${value}: expected a positive number such as 1.2`);
  return n;
}

/** A table name as --table may give it: `name` or `schema.name`, each plain or double-quoted. */
const TABLE_NAME =
  /^(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")(?:\.(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+"))?$/;

function parseTableName(name: string): string {
  if (!TABLE_NAME.test(name))
    throw new UsageError(
      `--table ${JSON.stringify(name)}: not a table name`,
      'Give a table as name or schema.name (double-quote a part that needs it), e.g. --table chunks.',
    );
  return name;
}

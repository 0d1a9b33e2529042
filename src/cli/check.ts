import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { type Job, runJob } from './job.js';

interface CheckOptions {
  failOn?: string;
  allowSkipped?: boolean;
  exact?: boolean;
  table?: string;
  warn?: string;
  fail?: string;
}

/**
 * Registers `dbops check consistency|schema|skew|all`: parse, then run the API's check on one
 * database or over a fleet (runJob), render.
 */
export function registerCheck(program: Command, signal: AbortSignal): void {
  const check = program
    .command('check')
    .description('consistency, schema and skew health reports (exit 1 on findings)');
  const familyCommand = (name: 'consistency' | 'schema' | 'all', description: string) =>
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
        run(cmd, signal, opts, async (env) => {
          // Loaded when the command runs: the operations load pg, the registry and the checks.
          const { runCheck } = await import('../api/operations.js');
          return runCheck(env, {
            kind: name,
            families,
            exact: opts.exact === true,
            allowSkipped: opts.allowSkipped === true,
          });
        }),
      );
  familyCommand('consistency', 'derived data vs its sources, per invariant');
  familyCommand(
    'schema',
    'objects each applied migration must have (tables, valid indexes, triggers, functions, partitions)',
  );
  familyCommand('all', 'everything: schema, consistency and skew (the CI step)');

  check
    .command('skew')
    .description('partition balance of a partitioned table (default: chunks)')
    .option('--table <name>', 'partitioned table (default from config skew.table: chunks)')
    .option('--exact', 'count rows with count(*) instead of pg_class.reltuples estimates')
    .option('--warn <ratio>', 'max/avg above this is WARNING (default 1.1)')
    .option('--fail <ratio>', 'max/avg above this is REBALANCE NEEDED, exit 1 (default 1.2)')
    .option('--fail-on <level>', 'exit 1 on warn or fail findings', 'fail')
    .action((opts: CheckOptions, cmd: Command) =>
      run(cmd, signal, opts, async (env) => {
        const { runSkew } = await import('../api/operations.js');
        return runSkew(env, {
          ...(opts.table !== undefined ? { table: opts.table } : {}),
          ...(opts.warn !== undefined ? { warn: ratio('--warn', opts.warn) } : {}),
          ...(opts.fail !== undefined ? { fail: ratio('--fail', opts.fail) } : {}),
          exact: opts.exact === true,
        });
      }),
    );
}

async function run(cmd: Command, signal: AbortSignal, opts: CheckOptions, job: Job): Promise<void> {
  const failOn = opts.failOn ?? 'fail';
  if (failOn !== 'warn' && failOn !== 'fail')
    throw new UsageError(`--fail-on ${failOn}: use warn or fail`);
  await runJob(cmd, signal, job, { failOn });
}

function ratio(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} ${value}: expected a positive number such as 1.2`);
  return n;
}

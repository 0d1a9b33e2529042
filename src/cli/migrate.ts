import type { Command } from 'commander';
import type { MigrateRequest } from '../api/types.js';
import { parsePositiveInt } from './context.js';
import { type JobOptions, runJob } from './job.js';

/**
 * Registers `dbops migrate up|down|status|redo|create`: each parses its options, runs the API
 * operation (src/api/operations.ts, loaded when the command runs so that start-up and --help
 * stay cheap) on one database or over a fleet (runJob), renders the report and sets the exit code.
 */
export function registerMigrate(program: Command, signal: AbortSignal): void {
  const migrate = program
    .command('migrate')
    .description('apply, roll back and inspect migrations per family');
  const run = async (cmd: Command, request: MigrateRequest) => {
    const { runMigrate } = await import('../api/operations.js');
    await runJob(cmd, signal, (env) => runMigrate(env, request), fleetOptions(request));
  };

  migrate
    .command('up [family...]')
    .description('apply pending migrations (all configured or detected families by default)')
    .option(
      '--dry-run',
      'run the preflight and print the plan and SQL; change nothing (no lock, no history table)',
    )
    .option(
      '--to <migration>',
      'stop after this migration (name or 4-digit index); needs one family',
    )
    .option(FIRE_APP_TRIGGERS, FIRE_APP_TRIGGERS_HELP)
    .option(WAIT, WAIT_HELP)
    .option('--canary <n>', 'fleet: migrate n targets first; go on only if check all is healthy')
    .option('--wave <size>', 'fleet: go on in waves of this size; stop at the first unhealthy one')
    .action((families: string[], opts: UpOptions, cmd: Command) =>
      run(cmd, {
        direction: 'up',
        families,
        ...(opts.to !== undefined ? { to: opts.to } : {}),
        dryRun: opts.dryRun === true,
        fireAppTriggers: opts.fireAppTriggers === true,
        ...waitOf(opts),
      }),
    );

  migrate
    .command('down <family...>')
    .description('roll back applied migrations, newest first (default: the last one)')
    .option('--count <n>', 'roll back the last n migrations')
    .option('--to <migration>', 'roll back every migration applied after this one')
    .option('--all', 'roll back every migration of the family')
    .option('--dry-run', 'print the SQL and change nothing')
    .option(WAIT, WAIT_HELP)
    .action((families: string[], opts: DownOptions, cmd: Command) =>
      run(cmd, {
        direction: 'down',
        families,
        ...(opts.count !== undefined ? { count: parsePositiveInt('--count', opts.count) } : {}),
        ...(opts.to !== undefined ? { to: opts.to } : {}),
        all: opts.all === true,
        dryRun: opts.dryRun === true,
        ...waitOf(opts),
      }),
    );

  migrate
    .command('status [family...]')
    .description('applied (with when) / pending / changed-since-applied per migration')
    .option('--fail-on-pending', 'exit 1 when any migration is pending')
    .action(async (families: string[], opts: { failOnPending?: boolean }, cmd: Command) => {
      const { runStatus } = await import('../api/operations.js');
      await runJob(cmd, signal, (env) =>
        runStatus(env, { families, failOnPending: opts.failOnPending === true }),
      );
    });

  migrate
    .command('redo <family>')
    .description('roll back the last n migrations and apply exactly those n again')
    .option('--count <n>', 'how many migrations', '1')
    .option(FIRE_APP_TRIGGERS, FIRE_APP_TRIGGERS_HELP)
    .option(WAIT, WAIT_HELP)
    .action((family: string, opts: RedoOptions, cmd: Command) =>
      run(cmd, {
        direction: 'redo',
        families: [family],
        count: parsePositiveInt('--count', opts.count),
        fireAppTriggers: opts.fireAppTriggers === true,
        ...waitOf(opts),
      }),
    );

  migrate
    .command('create <family> <name>')
    .description('write a new migration file in migrations/<family>/ (rebuild to use it)')
    .action(async (family: string, name: string) => {
      const { createMigration } = await import('../migrate/create.js');
      process.stdout.write(`${createMigration(family, name)}\n`);
    });
}

const FIRE_APP_TRIGGERS = '--fire-app-triggers';
const FIRE_APP_TRIGGERS_HELP =
  "let backfills fire the application's triggers on the tables they write (only needed where this role may not set session_replication_role)";

const WAIT = '--wait <seconds>';
const WAIT_HELP =
  'keep retrying a step that hits lock_timeout (a long transaction, or one a concurrent index build waits for) for up to this long instead of giving up after lockRetries';

interface WaitOption {
  wait?: string;
}

function waitOf(opts: WaitOption): Pick<MigrateRequest, 'waitSeconds'> {
  return opts.wait === undefined ? {} : { waitSeconds: parsePositiveInt('--wait', opts.wait) };
}

interface UpOptions extends WaitOption {
  dryRun?: boolean;
  to?: string;
  fireAppTriggers?: boolean;
}

interface RedoOptions extends WaitOption {
  count: string;
  fireAppTriggers?: boolean;
}

interface DownOptions extends WaitOption {
  count?: string;
  to?: string;
  all?: boolean;
  dryRun?: boolean;
}

/**
 * Fleet mode of up/down/redo: each family's state after the run (the `migrate status` operation
 * over the named families, else those with a migration applied), and `check all` as the gate of
 * canaries and waves. Both are the API operations the single-database commands run.
 */
function fleetOptions(request: MigrateRequest): JobOptions {
  const families = request.families ?? [];
  return {
    state: async (env) => {
      const { runStatus } = await import('../api/operations.js');
      return runStatus(env, { families }, 'applied');
    },
    gate: async (env) => {
      const { runCheck } = await import('../api/operations.js');
      return runCheck(env, { kind: 'all' });
    },
  };
}

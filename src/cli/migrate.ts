import type { Command } from 'commander';
import type { MigrateRequest } from '../api/types.js';
import { type CommandContext, commandContext, parsePositiveInt } from './context.js';
import { emit } from './output.js';

/**
 * Registers `dbops migrate up|down|status|redo|create`: each parses its options, calls the API
 * (src/api/operations.ts, loaded when the command runs so that start-up and --help stay cheap),
 * renders the report and sets the exit code.
 */
export function registerMigrate(program: Command, signal: AbortSignal): void {
  const migrate = program
    .command('migrate')
    .description('apply, roll back and inspect migrations per family');
  const run = async (cmd: Command, request: MigrateRequest) => {
    const ctx = await commandContext(cmd, signal);
    const { runMigrate } = await import('../api/operations.js');
    emit(ctx, await runMigrate(ctx, request));
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
    .action((families: string[], opts: UpOptions, cmd: Command) =>
      run(cmd, {
        direction: 'up',
        families,
        ...(opts.to !== undefined ? { to: opts.to } : {}),
        dryRun: opts.dryRun === true,
        fireAppTriggers: opts.fireAppTriggers === true,
      }),
    );

  migrate
    .command('down <family...>')
    .description('roll back applied migrations, newest first (default: the last one)')
    .option('--count <n>', 'roll back the last n migrations')
    .option('--to <migration>', 'roll back every migration applied after this one')
    .option('--all', 'roll back every migration of the family')
    .option('--dry-run', 'print the SQL and change nothing')
    .action((families: string[], opts: DownOptions, cmd: Command) =>
      run(cmd, {
        direction: 'down',
        families,
        ...(opts.count !== undefined ? { count: parsePositiveInt('--count', opts.count) } : {}),
        ...(opts.to !== undefined ? { to: opts.to } : {}),
        all: opts.all === true,
        dryRun: opts.dryRun === true,
      }),
    );

  migrate
    .command('status [family...]')
    .description('applied (with when) / pending / changed-since-applied per migration')
    .option('--fail-on-pending', 'exit 1 when any migration is pending')
    .action(async (families: string[], opts: { failOnPending?: boolean }, cmd: Command) => {
      const ctx: CommandContext = await commandContext(cmd, signal);
      const { runStatus } = await import('../api/operations.js');
      emit(ctx, await runStatus(ctx, { families, failOnPending: opts.failOnPending === true }));
    });

  migrate
    .command('redo <family>')
    .description('roll back the last n migrations and apply exactly those n again')
    .option('--count <n>', 'how many migrations', '1')
    .option(FIRE_APP_TRIGGERS, FIRE_APP_TRIGGERS_HELP)
    .action((family: string, opts: { count: string; fireAppTriggers?: boolean }, cmd: Command) =>
      run(cmd, {
        direction: 'redo',
        families: [family],
        count: parsePositiveInt('--count', opts.count),
        fireAppTriggers: opts.fireAppTriggers === true,
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

interface UpOptions {
  dryRun?: boolean;
  to?: string;
  fireAppTriggers?: boolean;
}

interface DownOptions {
  count?: string;
  to?: string;
  all?: boolean;
  dryRun?: boolean;
}

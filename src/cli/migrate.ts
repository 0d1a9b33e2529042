import type { Command } from 'commander';
import type pg from 'pg';
import { UsageError } from '../errors.js';
import type { EngineDeps, FamilyTarget } from '../migrate/engine.js';
import type { RevertSelection } from '../migrate/plan.js';
import { planReport, runReport, statusReport } from '../report/migrations.js';
import { type CommandContext, commandContext, parsePositiveInt, withDatabase } from './context.js';
import { emit, reportError } from './output.js';

type Handler = (ctx: CommandContext, client: pg.Client, started: Date) => Promise<void>;
type Request = { direction: 'up'; to?: string } | { direction: 'down'; selection: RevertSelection };

/**
 * Registers `dbops migrate up|down|status|redo|create`. The handlers import the engine, the
 * registry and the migration readers when they run, so that start-up and --help stay cheap.
 */
export function registerMigrate(program: Command, signal: AbortSignal): void {
  const migrate = program
    .command('migrate')
    .description('apply, roll back and inspect migrations per family');
  const run = (cmd: Command, handler: Handler) =>
    commandContext(cmd, signal).then((ctx) =>
      withDatabase(ctx, (client) => handler(ctx, client, new Date())),
    );

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
    .action((families: string[], opts: UpOptions, cmd: Command) =>
      run(cmd, async (ctx, client, started) => {
        const { defaultTargets, namedTargets } = await import('../migrate/targets.js');
        const targets =
          families.length > 0
            ? namedTargets(families, ctx.config)
            : await defaultTargets(client, ctx.config);
        if (opts.to !== undefined && targets.length !== 1)
          throw new UsageError('--to needs exactly one family');
        await planOrRun(ctx, client, started, targets, opts, {
          direction: 'up',
          to: opts.to,
        });
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
      run(cmd, async (ctx, client, started) => {
        const { namedTargets } = await import('../migrate/targets.js');
        const targets = namedTargets(families, ctx.config);
        const selection = revertSelection(opts);
        if ('to' in selection && targets.length !== 1)
          throw new UsageError('--to needs exactly one family');
        await planOrRun(ctx, client, started, targets, opts, {
          direction: 'down',
          selection,
        });
      }),
    );

  migrate
    .command('status [family...]')
    .description('applied (with when) / pending / changed-since-applied per migration')
    .option('--fail-on-pending', 'exit 1 when any migration is pending')
    .action((families: string[], opts: { failOnPending?: boolean }, cmd: Command) =>
      run(cmd, async (ctx, client, started) => {
        const { availableFamilies } = await import('../families/index.js');
        const { namedTargets } = await import('../migrate/targets.js');
        const { migrationStatus } = await import('../migrate/status.js');
        const names = families.length > 0 ? families : (ctx.config.families ?? availableFamilies());
        const { findLeftovers } = await import('../migrate/leftovers.js');
        const targets = namedTargets(names, ctx.config);
        const rows = await migrationStatus(client, targets);
        const found = await findLeftovers(client, targets);
        emit(
          ctx,
          statusReport('migrate status', started, rows, opts.failOnPending === true, found),
        );
      }),
    );

  migrate
    .command('redo <family>')
    .description('roll back the last n migrations and apply exactly those n again')
    .option('--count <n>', 'how many migrations', '1')
    .option(FIRE_APP_TRIGGERS, FIRE_APP_TRIGGERS_HELP)
    .option(WAIT, WAIT_HELP)
    .action((family: string, opts: RedoOptions, cmd: Command) =>
      run(cmd, async (ctx, client, started) => {
        const { namedTargets } = await import('../migrate/targets.js');
        const { redoMigrations } = await import('../migrate/engine.js');
        const [target] = namedTargets([family], ctx.config);
        const result = await redoMigrations(
          engineDeps(ctx, client, opts),
          target!,
          parsePositiveInt('--count', opts.count),
        );
        emit(ctx, runReport('migrate redo', started, result, reportError));
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

interface RunOptions {
  fireAppTriggers?: boolean;
  wait?: string;
}

interface UpOptions extends RunOptions {
  dryRun?: boolean;
  to?: string;
}

interface DownOptions extends RunOptions {
  count?: string;
  to?: string;
  all?: boolean;
  dryRun?: boolean;
}

interface RedoOptions extends RunOptions {
  count: string;
}

function engineDeps(ctx: CommandContext, client: pg.Client, opts: RunOptions): EngineDeps {
  const waitMs = opts.wait === undefined ? undefined : parsePositiveInt('--wait', opts.wait) * 1000;
  return {
    fireAppTriggers: opts.fireAppTriggers === true,
    client,
    settings: { ...ctx.config, waitMs },
    progress: ctx.progress,
    signal: ctx.signal,
    lockWaitMs: ctx.config.migrationLockWaitMs,
  };
}

/** --dry-run prints the plan's SQL; otherwise the migrations run. Both report the same way. */
async function planOrRun(
  ctx: CommandContext,
  client: pg.Client,
  started: Date,
  targets: FamilyTarget[],
  opts: RunOptions & { dryRun?: boolean },
  request: Request,
): Promise<void> {
  const title = `migrate ${request.direction}${opts.dryRun ? ' --dry-run' : ''}`;
  const deps = engineDeps(ctx, client, opts);
  if (opts.dryRun) {
    const { planMigrations } = await import('../migrate/dryRun.js');
    emit(ctx, planReport(title, started, await planMigrations(deps, targets, request)));
    return;
  }
  const { applyMigrations, revertMigrations } = await import('../migrate/engine.js');
  const result =
    request.direction === 'up'
      ? await applyMigrations(deps, targets, request.to)
      : await revertMigrations(deps, targets, request.selection);
  emit(ctx, runReport(title, started, result, reportError));
}

function revertSelection(opts: DownOptions): RevertSelection {
  const given = [opts.count !== undefined, opts.to !== undefined, opts.all === true].filter(
    Boolean,
  ).length;
  if (given > 1) throw new UsageError('use only one of --count, --to and --all');
  if (opts.all) return { all: true };
  if (opts.to !== undefined) return { to: opts.to };
  return { count: opts.count === undefined ? 1 : parsePositiveInt('--count', opts.count) };
}

import type { Command } from 'commander';
import type pg from 'pg';
import { UsageError } from '../errors.js';
import type { EngineDeps, FamilyTarget } from '../migrate/engine.js';
import type { RevertSelection } from '../migrate/plan.js';
import { planReport, runReport, statusReport } from '../report/migrations.js';
import type { Report } from '../report/types.js';
import { checkAllJob } from './check.js';
import { type JobContext, parsePositiveInt } from './context.js';
import { type JobOptions, runJob } from './job.js';
import { reportError } from './output.js';

type Handler = (ctx: JobContext, client: pg.Client, started: Date) => Promise<Report>;
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
    runJob(cmd, signal, (ctx, client) => handler(ctx, client, new Date()), fleetOptions(cmd));

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
    .option('--canary <n>', 'fleet: migrate n targets first; go on only if check all is healthy')
    .option('--wave <size>', 'fleet: go on in waves of this size; stop at the first unhealthy one')
    .action((families: string[], opts: UpOptions, cmd: Command) =>
      run(cmd, async (ctx, client, started) => {
        const { defaultTargets, namedTargets } = await import('../migrate/targets.js');
        const targets =
          families.length > 0
            ? namedTargets(families, ctx.config)
            : await defaultTargets(client, ctx.config);
        if (opts.to !== undefined && targets.length !== 1)
          throw new UsageError('--to needs exactly one family');
        return planOrRun(ctx, client, started, targets, opts, {
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
    .action((families: string[], opts: DownOptions, cmd: Command) =>
      run(cmd, async (ctx, client, started) => {
        const { namedTargets } = await import('../migrate/targets.js');
        const targets = namedTargets(families, ctx.config);
        const selection = revertSelection(opts);
        if ('to' in selection && targets.length !== 1)
          throw new UsageError('--to needs exactly one family');
        return planOrRun(ctx, client, started, targets, opts, {
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
        const rows = await migrationStatus(client, namedTargets(names, ctx.config));
        return statusReport('migrate status', started, rows, opts.failOnPending === true);
      }),
    );

  migrate
    .command('redo <family>')
    .description('roll back the last n migrations and apply exactly those n again')
    .option('--count <n>', 'how many migrations', '1')
    .option(FIRE_APP_TRIGGERS, FIRE_APP_TRIGGERS_HELP)
    .action((family: string, opts: { count: string; fireAppTriggers?: boolean }, cmd: Command) =>
      run(cmd, async (ctx, client, started) => {
        const { namedTargets } = await import('../migrate/targets.js');
        const { redoMigrations } = await import('../migrate/engine.js');
        const [target] = namedTargets([family], ctx.config);
        const result = await redoMigrations(
          engineDeps(ctx, client, opts.fireAppTriggers),
          target!,
          parsePositiveInt('--count', opts.count),
        );
        return runReport('migrate redo', started, result, reportError);
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

/**
 * Fleet mode of up/down/redo: each family's state after the run (applied/partial/pending), read
 * as `migrate status` reads it, over the named families or those with history; and `check all`
 * as the gate of canaries and waves.
 */
function fleetOptions(cmd: Command): JobOptions {
  if (cmd.name() === 'status') return {};
  const named = cmd.processedArgs[0] as string[] | string | undefined;
  const families = named === undefined ? [] : ([] as string[]).concat(named);
  return {
    state: async (ctx, client) => {
      const { checkedTargets, namedTargets } = await import('../migrate/targets.js');
      const { migrationStatus } = await import('../migrate/status.js');
      const targets =
        families.length > 0
          ? namedTargets(families, ctx.config)
          : await checkedTargets(client, ctx.config);
      const rows = await migrationStatus(client, targets);
      return statusReport('migrate status', new Date(), rows, false);
    },
    gate: checkAllJob,
  };
}

function engineDeps(ctx: JobContext, client: pg.Client, fireAppTriggers = false): EngineDeps {
  return {
    fireAppTriggers,
    client,
    settings: ctx.config,
    progress: ctx.progress,
    signal: ctx.signal,
    lockWaitMs: ctx.config.migrationLockWaitMs,
  };
}

/** --dry-run prints the plan's SQL; otherwise the migrations run. Both report the same way. */
async function planOrRun(
  ctx: JobContext,
  client: pg.Client,
  started: Date,
  targets: FamilyTarget[],
  opts: { dryRun?: boolean; fireAppTriggers?: boolean },
  request: Request,
): Promise<Report> {
  const title = `migrate ${request.direction}${opts.dryRun ? ' --dry-run' : ''}`;
  const deps = engineDeps(ctx, client, opts.fireAppTriggers);
  if (opts.dryRun) {
    const { planMigrations } = await import('../migrate/dryRun.js');
    return planReport(title, started, await planMigrations(deps, targets, request));
  }
  const { applyMigrations, revertMigrations } = await import('../migrate/engine.js');
  const result =
    request.direction === 'up'
      ? await applyMigrations(deps, targets, request.to)
      : await revertMigrations(deps, targets, request.selection);
  return runReport(title, started, result, reportError);
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

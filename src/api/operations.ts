/**
 * The operations behind the CLI and the library API: each opens its connection, does the job
 * and returns the Report every format renders. They never print, read process.env or exit;
 * expected failures are DbopsErrors (thrown before the work starts, or carried in
 * `report.error` when part of the work was done).
 */
import type pg from 'pg';
import type { SkewAnalysis } from '../checks/skew.js';
import type { CheckKind, CheckResult } from '../checks/types.js';
import { UsageError } from '../errors.js';
import type { FamilyName } from '../families/names.js';
import type { RevertSelection } from '../migrate/plan.js';
import { checkReport, skewNotes } from '../report/checks.js';
import { reportError } from '../report/error.js';
import { planReport, runReport, statusReport } from '../report/migrations.js';
import { resyncReport } from '../report/resync.js';
import type { Report } from '../report/types.js';
import { type OperationEnv, withClient } from './session.js';
import type {
  CheckRequest,
  MigrateRequest,
  ResyncRequest,
  SkewRequest,
  StatusRequest,
} from './types.js';

const KINDS: Record<NonNullable<CheckRequest['kind']>, CheckKind[]> = {
  all: ['schema', 'consistency', 'skew'],
  consistency: ['consistency'],
  schema: ['schema'],
};

/** `check all|consistency|schema [family...]`. */
export async function runCheck(env: OperationEnv, req: CheckRequest = {}): Promise<Report> {
  const kind = req.kind ?? 'all';
  const kinds = KINDS[kind];
  if (!kinds) throw new UsageError(`check kind ${kind}: use all, consistency or schema`);
  // Loaded when the operation runs (the registry and check runner cost start-up time), while the
  // server starts the session.
  const families = req.families ?? [];
  const modules = preload(() =>
    Promise.all([
      import('../migrate/targets.js'),
      import('../checks/runner.js'),
      import('../migrate/history.js'),
      import('../families/names.js'),
      preloadChecks(families),
    ]),
  );
  return withClient(env, async (client) => {
    const started = new Date();
    const [{ checkedTargets, namedTargets }, { runChecks }, { readAppliedAll }, { FAMILY_NAMES }] =
      await modules;
    // Without families named or configured: every family's history, read once for choosing the
    // families and for checking them.
    const history =
      families.length > 0 || env.config.families
        ? undefined
        : await readAppliedAll(client, [...FAMILY_NAMES]);
    const targets =
      families.length > 0
        ? namedTargets(families, env.config)
        : await checkedTargets(client, env.config, history);
    const results = await runChecks(
      { client, config: env.config, kinds, exact: req.exact === true },
      targets,
      history,
    );
    const notes = results.flatMap((r) =>
      r.details?.skew ? skewNotes(r.details.skew as SkewAnalysis, env.config.skew) : [],
    );
    return checkReport(`check ${kind}`, started, results, notes, req.allowSkipped === true);
  });
}

/** `check skew`: the balance of one partitioned table, as one `partition.skew` item. */
export async function runSkew(env: OperationEnv, req: SkewRequest = {}): Promise<Report> {
  const skew = { ...env.config.skew, table: parseTableName(req.table ?? env.config.skew.table) };
  if (req.warn !== undefined) skew.warn = ratio('--warn', req.warn);
  if (req.fail !== undefined) skew.fail = ratio('--fail', req.fail);
  if (skew.warn > skew.fail)
    throw new UsageError(`--warn ${skew.warn} must not exceed --fail ${skew.fail}`);
  return withClient(env, async (client) => {
    const { analyzeSkew } = await import('../checks/skew.js');
    const { setSearchPath, withTransaction } = await import('../db/session.js');
    const started = new Date();
    await setSearchPath(client, [env.config.schemas.partition]);
    const a = await withTransaction(
      client,
      () => analyzeSkew(client, skew.table, skew, req.exact === true, env.progress),
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
      sample: [...a.hot, ...a.cold].slice(0, env.config.checks.sampleSize),
      hint: a.advice,
      message: a.status,
      details: { skew: a },
      durationMs: Date.now() - started.getTime(),
    };
    return checkReport('check skew', started, [result], skewNotes(a, skew));
  });
}

/** `migrate up|down|redo`: one item per migration run; a failure part way is `report.error`. */
export async function runMigrate(env: OperationEnv, req: MigrateRequest = {}): Promise<Report> {
  const direction = req.direction ?? 'up';
  if (!['up', 'down', 'redo'].includes(direction))
    throw new UsageError(`migrate direction ${direction}: use up, down or redo`);
  const families = req.families ?? [];
  if (direction !== 'up' && families.length === 0)
    throw new UsageError(`migrate ${direction} needs a family`);
  if (direction === 'redo' && families.length !== 1)
    throw new UsageError('migrate redo takes exactly one family');
  const selection = direction === 'down' ? revertSelection(req) : undefined;
  const count = direction === 'redo' ? positiveInt('--count', req.count ?? 1) : 0;
  return withClient(env, async (client) => {
    const started = new Date();
    const { defaultTargets, namedTargets } = await import('../migrate/targets.js');
    const targets =
      families.length > 0
        ? namedTargets(families, env.config)
        : await defaultTargets(client, env.config);
    if (req.to !== undefined && targets.length !== 1)
      throw new UsageError('--to needs exactly one family');
    const deps = engineDeps(env, client, req);
    if (direction === 'redo') {
      const { redoMigrations } = await import('../migrate/engine.js');
      const result = await redoMigrations(deps, targets[0]!, count);
      return runReport('migrate redo', started, result, reportError);
    }
    const request =
      direction === 'up'
        ? { direction: 'up' as const, to: req.to }
        : { direction: 'down' as const, selection: selection! };
    const title = `migrate ${direction}${req.dryRun ? ' --dry-run' : ''}`;
    if (req.dryRun) {
      const { planMigrations } = await import('../migrate/dryRun.js');
      return planReport(title, started, await planMigrations(deps, targets, request));
    }
    const { applyMigrations, revertMigrations } = await import('../migrate/engine.js');
    const result =
      request.direction === 'up'
        ? await applyMigrations(deps, targets, request.to)
        : await revertMigrations(deps, targets, request.selection);
    return runReport(title, started, result, reportError);
  });
}

/**
 * `migrate status`: one item per family, then one per migration (applied with when, pending,
 * changed). Without families named or configured it covers every family dbops knows; with
 * `scope` `applied` (fleet mode's state after a migration run) only those with a migration
 * applied, as `check` does.
 */
export async function runStatus(
  env: OperationEnv,
  req: StatusRequest = {},
  scope: 'known' | 'applied' = 'known',
): Promise<Report> {
  const modules = preload(() =>
    Promise.all([
      import('../families/index.js'),
      import('../migrate/targets.js'),
      import('../migrate/status.js'),
      import('../migrate/leftovers.js'),
    ]),
  );
  return withClient(env, async (client) => {
    const started = new Date();
    const [
      { availableFamilies },
      { checkedTargets, namedTargets },
      { migrationStatus },
      leftovers,
    ] = await modules;
    const families = req.families ?? [];
    const targets =
      families.length > 0
        ? namedTargets(families, env.config)
        : scope === 'applied'
          ? await checkedTargets(client, env.config)
          : namedTargets(env.config.families ?? availableFamilies(), env.config);
    const rows = await migrationStatus(client, targets);
    const found = await leftovers.findLeftovers(client, targets);
    return statusReport('migrate status', started, rows, req.failOnPending === true, found);
  });
}

/** `resync <target...|all>`: one item per target with rows inserted/updated/deleted. */
export async function runResync(env: OperationEnv, req: ResyncRequest): Promise<Report> {
  const names = req.targets ?? [];
  // Loaded when the operation runs: the registry pulls in every family's resync targets.
  const { targetsNamed } = await import('../resync/registry.js');
  const { runResync: run } = await import('../resync/run.js');
  const { whyNotApplied } = await import('../migrate/status.js');
  const { namedTargets } = await import('../migrate/targets.js');
  const targets = await targetsNamed(names);
  const batchSize =
    req.batchSize === undefined ? undefined : positiveInt('--batch-size', req.batchSize);
  return withClient(env, async (client) => {
    const started = new Date();
    const results = await run(
      {
        client,
        progress: env.progress,
        signal: env.signal,
        schemaOf: (family) => env.config.schemas[family as FamilyName],
        unavailable: async (family) =>
          whyNotApplied(client, namedTargets([family], env.config)[0]!),
        lockWaitMs: env.config.migrationLockWaitMs,
      },
      targets,
      { dryRun: req.dryRun === true, ...(batchSize ? { batchSize } : {}) },
    );
    return resyncReport(
      `resync ${names.join(' ')}${req.dryRun ? ' --dry-run' : ''}`,
      started,
      results,
    );
  });
}

function engineDeps(env: OperationEnv, client: pg.Client, req: MigrateRequest) {
  const waitMs =
    req.waitSeconds === undefined ? undefined : positiveInt('--wait', req.waitSeconds) * 1000;
  return {
    fireAppTriggers: req.fireAppTriggers === true,
    client,
    settings: { ...env.config, waitMs },
    progress: env.progress,
    signal: env.signal,
    lockWaitMs: env.config.migrationLockWaitMs,
  };
}

function revertSelection(req: MigrateRequest): RevertSelection {
  const given = [req.count !== undefined, req.to !== undefined, req.all === true].filter(
    Boolean,
  ).length;
  if (given > 1) throw new UsageError('use only one of --count, --to and --all');
  if (req.all) return { all: true };
  if (req.to !== undefined) return { to: req.to };
  return { count: req.count === undefined ? 1 : positiveInt('--count', req.count) };
}

function positiveInt(flag: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} ${n}: expected a whole number >= 1`);
  return n;
}

function ratio(flag: string, n: number): number {
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} ${n}: expected a positive number such as 1.2`);
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

/**
 * Starts loading an operation's modules before it connects: they load while the server starts
 * the session instead of after. Marked as handled: an operation whose connection fails never
 * awaits them.
 */
function preload<T>(load: () => Promise<T>): Promise<T> {
  const modules = load();
  modules.catch(() => {});
  return modules;
}

/** Loads the checks of the families named (known names only), so that the runner finds them loaded. */
async function preloadChecks(families: string[]): Promise<void> {
  const { isFamilyName } = await import('../families/names.js');
  const { loadChecks } = await import('../checks/loader.js');
  await Promise.all(families.filter(isFamilyName).map(loadChecks));
}

import type pg from 'pg';
import { runChecks } from '../checks/runner.js';
import type { CheckResult } from '../checks/types.js';
import type { ResolvedConfig } from '../config.js';
import { type DbopsError, PreconditionError } from '../errors.js';
import type { FamilyName } from '../families/names.js';
import { applyMigrations } from '../migrate/engine.js';
import { migrationStatus, whyNotApplied } from '../migrate/status.js';
import { namedTargets } from '../migrate/targets.js';
import type { Progress } from '../progress.js';
import { checkReport } from '../report/checks.js';
import { runReport, statusReport } from '../report/migrations.js';
import { resyncReport } from '../report/resync.js';
import type { Report } from '../report/types.js';
import { exitCodeFor } from '../report/types.js';
import { allTargets } from '../resync/registry.js';
import { runResync } from '../resync/run.js';
import { DEMO_SKEW, loadDemoFamilies } from './families.js';

/** Where the tour sends what it has to say; the CLI renders it. */
export interface TourOutput {
  /** A step begins: a title and a line or two of narration. */
  step(title: string, narration: string[]): void;
  /** A report from one of the real commands, with the exit code that command would have. */
  report(report: Report, exitCode: number): void;
}

export interface TourDeps {
  client: pg.Client;
  config: ResolvedConfig;
  progress: Progress;
  signal: AbortSignal;
  out: TourOutput;
  errorOf: (err: DbopsError) => NonNullable<Report['error']>;
}

/**
 * The whole job on one database: base schemas with data, migrate up, a healthy check, the
 * drift the originals suffered, a check that finds it (exit 1), resync all, a healthy check
 * again, migrate status. Throws when a step did not behave as a healthy dbops should.
 */
export async function runTour(deps: TourDeps, rows: number): Promise<void> {
  const { client, out } = deps;
  const config = { ...deps.config, skew: { ...deps.config.skew, ...DEMO_SKEW } };
  const demoFamilies = await loadDemoFamilies();
  const families = demoFamilies.map((f) => f.family);
  const targets = namedTargets(families, config);

  const built: string[] = [];
  for (const f of demoFamilies) built.push(await f.setup(client, rows));
  out.step('1. Base schemas', [
    'The tables the four original systems had before their migrations, with generated data:',
    ...built,
  ]);

  out.step('2. dbops migrate up', [
    'Applies every family: short DDL transactions under lock_timeout, then backfills in committed batches.',
  ]);
  const migrateStarted = new Date();
  const run = await applyMigrations(
    {
      client,
      settings: config,
      progress: deps.progress,
      signal: deps.signal,
      lockWaitMs: config.migrationLockWaitMs,
    },
    targets,
  );
  const migrated = runReport('migrate up', migrateStarted, run, deps.errorOf);
  out.report(migrated, exitCodeFor(migrated));
  if (run.error) throw run.error;

  const check = async (title: string, narration: string[]) => {
    out.step(title, narration);
    const started = new Date();
    const results: CheckResult[] = await runChecks(
      { client, config, kinds: ['schema', 'consistency', 'skew'], exact: false },
      targets,
    );
    const report = checkReport('check all', started, results);
    const code = exitCodeFor(report);
    out.report(report, code);
    return code;
  };
  const healthy = await check('3. dbops check all', [
    'Every derived table against its sources, the catalog against what each migration installed, and partition skew',
    `(skew thresholds for this small data set: warn ${DEMO_SKEW.warn}, fail ${DEMO_SKEW.fail}; production defaults ${deps.config.skew.warn} / ${deps.config.skew.fail}).`,
  ]);

  const drifted: string[] = [];
  for (const f of demoFamilies) drifted.push(await f.drift(client));
  out.step('4. Drift', ['What happened to the originals in production:', ...drifted]);
  const found = await check('5. dbops check all (again)', [
    'The checks find every kind of drift; in CI this step fails the build (exit 1).',
  ]);

  out.step('6. dbops resync all', [
    'Rebuilds each derived table from its sources in committed batches, safe while the application writes.',
  ]);
  const resyncStarted = new Date();
  const resynced = resyncReport(
    'resync all',
    resyncStarted,
    await runResync(
      {
        client,
        progress: deps.progress,
        signal: deps.signal,
        schemaOf: (family) => config.schemas[family as FamilyName],
        unavailable: (family) => whyNotApplied(client, namedTargets([family], config)[0]!),
      },
      await allTargets(),
      { dryRun: false },
    ),
  );
  out.report(resynced, exitCodeFor(resynced));

  const repaired = await check('7. dbops check all (after resync)', ['Healthy again.']);
  out.step('8. dbops migrate status', [
    'Applied migrations with when they ran; `dbops migrate down <family> --all` would undo each family without losing a row.',
  ]);
  const status = statusReport(
    'migrate status',
    new Date(),
    await migrationStatus(client, targets),
    true,
  );
  out.report(status, exitCodeFor(status));

  const asExpected =
    healthy === 0 &&
    found === 1 &&
    exitCodeFor(resynced) === 0 &&
    repaired === 0 &&
    exitCodeFor(status) === 0;
  if (!asExpected) {
    throw new PreconditionError(
      `the demo did not go as expected (check exit codes: before drift ${healthy}, after drift ${found}, after resync ${repaired})`,
      'This is a bug in dbops; please report the output above.',
    );
  }
}

import type pg from 'pg';
import { acquireAdvisoryLock, advisoryLockHolder, advisoryUnlock } from '../db/session.js';
import { DbopsError, isPgError, LockError, PreconditionError, SqlState } from '../errors.js';
import { listMigrationFiles, type MigrationFile } from './files.js';
import { type AppliedMigration, ensureHistory, readApplied } from './history.js';
import { compareWithHistory, type RevertSelection, selectToApply, selectToRevert } from './plan.js';
import { preflightError, preflightFamily } from './preflight.js';
import { type FamilyTarget, type RunDeps, runOneMigration } from './runOne.js';

export type { FamilyTarget, RunDeps } from './runOne.js';

/** What happened to one migration in a run. */
export interface MigrationOutcome {
  family: string;
  name: string;
  direction: 'up' | 'down';
  status: 'done' | 'failed';
  durationMs: number;
  attempts: number;
}

/** A run never throws for expected failures: it returns what was done and the error that stopped it. */
export interface MigrationRun {
  outcomes: MigrationOutcome[];
  error: DbopsError | undefined;
  /** What the preflights said besides problems: adoptions, the application's triggers. */
  notes: string[];
}

export interface EngineDeps extends RunDeps {
  /** How long to wait for another dbops run holding the same family's lock. */
  lockWaitMs: number;
  /** --fire-app-triggers: backfills may fire the application's triggers when replica role is not allowed. */
  fireAppTriggers?: boolean;
}

/** Apply pending migrations of each family (all, or up to `to`). */
export function applyMigrations(
  deps: EngineDeps,
  targets: FamilyTarget[],
  to?: string,
): Promise<MigrationRun> {
  return runFamilies(deps, targets, async (target, applied, files) => {
    const toApply = selectToApply(files, applied, to);
    if (toApply.length === 0) return { steps: [] };
    const found = await preflightFamily(deps.client, target, {
      fresh: applied.length === 0,
      fireAppTriggers: deps.fireAppTriggers === true,
    });
    if (found.problems.length > 0) throw preflightError(found);
    return {
      steps: toApply.map((file) => ({ file, direction: 'up' as const })),
      appTriggers: found.appTriggers,
      notes: found.notes,
    };
  });
}

/** Roll back applied migrations of each family, newest first. */
export function revertMigrations(
  deps: EngineDeps,
  targets: FamilyTarget[],
  selection: RevertSelection,
): Promise<MigrationRun> {
  return runFamilies(deps, targets, async (target, applied, files) => {
    const steps = selectToRevert(applied, selection).map((name) => ({
      file: fileNamed(target, files, name),
      direction: 'down' as const,
    }));
    if (steps.length === 0 || !target.def.backfillWrites?.length) return { steps };
    // A down that writes base tables back (sequence: the adopted numbers) needs the same
    // decision on the application's triggers as the up's backfill; problems do not stop a down.
    const found = await preflightFamily(deps.client, target, {
      fresh: false,
      fireAppTriggers: deps.fireAppTriggers === true,
    });
    return { steps, appTriggers: found.appTriggers };
  });
}

/** Exactly `count` migrations down, then the same ones up again (node-pg-migrate's redo re-applies every pending one). */
export function redoMigrations(
  deps: EngineDeps,
  target: FamilyTarget,
  count: number,
): Promise<MigrationRun> {
  return runFamilies(deps, [target], async (t, applied, files) => {
    const names = selectToRevert(applied, { count });
    const downs = names.map((name) => ({
      file: fileNamed(t, files, name),
      direction: 'down' as const,
    }));
    const ups = [...downs].reverse().map((s) => ({ file: s.file, direction: 'up' as const }));
    const found = await preflightFamily(deps.client, t, {
      fresh: false,
      fireAppTriggers: deps.fireAppTriggers === true,
    });
    if (found.problems.length > 0) throw preflightError(found);
    return { steps: [...downs, ...ups], appTriggers: found.appTriggers, notes: found.notes };
  });
}

type Step = { file: MigrationFile; direction: 'up' | 'down' };
type FamilyPlan = { steps: Step[]; appTriggers?: 'replica' | 'fire'; notes?: string[] };
type Planner = (
  target: FamilyTarget,
  applied: AppliedMigration[],
  files: MigrationFile[],
) => Promise<FamilyPlan>;

/**
 * Takes every family's advisory lock (bounded wait, registry order so two dbops runs cannot
 * deadlock), reads history under the locks and plans every family before changing anything (a
 * precondition failure in any family leaves the database untouched), then runs the steps one
 * migration at a time. Each migration commits on its own (resumable, not atomic): a failure stops
 * the run with earlier migrations applied, and a rerun continues from there.
 */
async function runFamilies(
  deps: EngineDeps,
  targets: FamilyTarget[],
  plan: Planner,
): Promise<MigrationRun> {
  const outcomes: MigrationOutcome[] = [];
  const notes: string[] = [];
  const locked: string[] = [];
  try {
    for (const target of targets) locked.push(await lockFamily(deps, target));
    const planned: { target: FamilyTarget; steps: Step[] }[] = [];
    for (const target of targets) {
      const files = listMigrationFiles(target.def);
      const applied = await readApplied(deps.client, String(target.def.name));
      assertHistoryMatchesFiles(target, files, applied);
      const familyPlan = await plan(target, applied, files);
      notes.push(...(familyPlan.notes ?? []).map((n) => `${target.def.name}: ${n}`));
      planned.push({
        target: { ...target, appTriggers: familyPlan.appTriggers ?? 'fire' },
        steps: familyPlan.steps,
      });
    }
    for (const { target, steps } of planned) {
      if (steps.length > 0) await ensureHistoryOnce(deps.client, String(target.def.name));
      for (const step of steps) {
        const outcome: MigrationOutcome = {
          family: String(target.def.name),
          name: step.file.name,
          direction: step.direction,
          status: 'failed',
          durationMs: 0,
          attempts: 1,
        };
        outcomes.push(outcome);
        const started = Date.now();
        try {
          outcome.attempts = await runOneMigration(deps, target, step.file, step.direction);
          outcome.status = 'done';
        } finally {
          outcome.durationMs = Date.now() - started;
        }
      }
    }
    return { outcomes, error: undefined, notes };
  } catch (err) {
    if (err instanceof DbopsError) return { outcomes, error: err, notes };
    throw err;
  } finally {
    for (const name of locked) await advisoryUnlock(deps.client, name).catch(() => {});
  }
}

async function lockFamily(deps: EngineDeps, target: FamilyTarget): Promise<string> {
  const name = `migrate:${target.def.name}`;
  if (!(await acquireAdvisoryLock(deps.client, name, deps.lockWaitMs))) {
    const holder = (await advisoryLockHolder(deps.client, name)) ?? 'another session';
    throw new LockError(
      `another dbops migration of family ${target.def.name} is running (${holder}); waited ${deps.lockWaitMs} ms`,
      'Wait for it to finish and rerun, or raise migrationLockWaitMs in dbops.config.json.',
    );
  }
  return name;
}

/** Two families created at once may race on CREATE SCHEMA IF NOT EXISTS; one retry settles it. */
async function ensureHistoryOnce(client: pg.ClientBase, family: string): Promise<void> {
  try {
    await ensureHistory(client, family);
  } catch (err) {
    if (!isPgError(err) || err.code !== SqlState.uniqueViolation) throw err;
    await ensureHistory(client, family);
  }
}

function assertHistoryMatchesFiles(
  target: FamilyTarget,
  files: MigrationFile[],
  applied: AppliedMigration[],
): void {
  const problems = compareWithHistory(String(target.def.name), files, applied).filter(
    (s) => s.state === 'missing-file',
  );
  if (problems.length > 0) {
    throw new PreconditionError(
      `family ${target.def.name}: history lists migrations that this dbops does not have: ${problems.map((p) => p.name).join(', ')}`,
      'Use the dbops version that applied them (or newer).',
    );
  }
  const firstPending = files.findIndex((f) => !applied.some((a) => a.name === f.name));
  const lastApplied = files.findLastIndex((f) => applied.some((a) => a.name === f.name));
  if (firstPending !== -1 && firstPending < lastApplied) {
    throw new PreconditionError(
      `family ${target.def.name}: ${files[firstPending]!.name} is not applied but a later migration is`,
      'Roll back to before it (dbops migrate down --to) and apply again.',
    );
  }
}

function fileNamed(target: FamilyTarget, files: MigrationFile[], name: string): MigrationFile {
  const file = files.find((f) => f.name === name);
  if (!file)
    throw new PreconditionError(`family ${target.def.name}: migration file ${name} is missing`);
  return file;
}

export { compareWithHistory };

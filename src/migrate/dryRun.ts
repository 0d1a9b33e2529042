import { pathToFileURL } from 'node:url';
import type { MigrationBuilder } from 'node-pg-migrate';
import type pg from 'pg';
import { setSearchPath, withTransaction } from '../db/session.js';
import type { DbopsMigration } from './context.js';
import { listMigrationFiles } from './files.js';
import { readApplied } from './history.js';
import { loadNodePgMigrate } from './nodePgMigrate.js';
import { type RevertSelection, selectToApply, selectToRevert } from './plan.js';
import { preflightError, preflightFamily } from './preflight.js';
import { contextFor, type FamilyTarget, type RunDeps } from './runOne.js';

/** The SQL one migration would run, as `--dry-run` prints it. */
export interface PlannedMigration {
  family: string;
  name: string;
  direction: 'up' | 'down';
  /** False when the migration runs outside a transaction (pgm.noTransaction()). */
  transactional: boolean;
  sql: string;
}

/** A dry run's result: the SQL per migration and the preflights' plan notes. */
export interface MigrationPlan {
  planned: PlannedMigration[];
  notes: string[];
}

/**
 * Collects the SQL of what `up`/`down` would run, without the advisory lock, without creating the
 * history table, inside one READ ONLY transaction that is rolled back: nothing can change.
 * Batched steps are printed once with their parameters, not executed. For `up`, the same
 * preflight as the real run comes first (its rehearsal UPDATE is rolled back): a dry run refuses
 * with the same message when the real run would.
 */
export async function planMigrations(
  deps: RunDeps & { fireAppTriggers?: boolean },
  targets: FamilyTarget[],
  request: { direction: 'up'; to?: string } | { direction: 'down'; selection: RevertSelection },
): Promise<MigrationPlan> {
  const { client } = deps;
  const planned: PlannedMigration[] = [];
  const notes: string[] = [];
  if (request.direction === 'up') {
    for (const target of targets) {
      const applied = await readApplied(client, String(target.def.name));
      if (selectToApply(listMigrationFiles(target.def), applied, request.to).length === 0) continue;
      const found = await preflightFamily(client, target, {
        fresh: applied.length === 0,
        fireAppTriggers: deps.fireAppTriggers === true,
      });
      if (found.problems.length > 0) throw preflightError(found);
      notes.push(...found.notes.map((n) => `${target.def.name}: ${n}`));
    }
  }
  const rollback = new Error('dry run: roll back');
  await withTransaction(
    client,
    async () => {
      for (const target of targets) {
        const family = String(target.def.name);
        await setSearchPath(client, [target.schema]);
        const files = listMigrationFiles(target.def);
        const applied = await readApplied(client, family);
        const chosen =
          request.direction === 'up'
            ? selectToApply(files, applied, request.to)
            : selectToRevert(applied, request.selection)
                .map((n) => files.find((f) => f.name === n)!)
                .filter(Boolean);
        for (const file of chosen) {
          const mod = (await import(pathToFileURL(file.path).href)) as DbopsMigration;
          const { MigrationBuilder: Builder } = await loadNodePgMigrate();
          const pgm = new Builder(readOnlyDb(client), {}, false, {
            info() {},
            warn() {},
            error() {},
          });
          await mod[request.direction](pgm, contextFor(deps, target, true));
          planned.push({
            family,
            name: file.name,
            direction: request.direction,
            transactional: pgm.isUsingTransaction(),
            sql: pgm.getSql(),
          });
        }
      }
      throw rollback;
    },
    'BEGIN READ ONLY',
  ).catch((err) => {
    if (err !== rollback) throw err;
  });
  return { planned, notes };
}

function readOnlyDb(client: pg.ClientBase): ConstructorParameters<typeof MigrationBuilder>[0] {
  return {
    query: (text: string, values?: unknown[]) => client.query(text, values),
    select: async (text: string, values?: unknown[]) => (await client.query(text, values)).rows,
  } as unknown as ConstructorParameters<typeof MigrationBuilder>[0];
}

import type pg from 'pg';
import { listMigrationFiles } from './files.js';
import { readApplied } from './history.js';
import { compareWithHistory, type MigrationStatus } from './plan.js';
import type { FamilyTarget } from './runOne.js';

/** Applied / pending / changed / missing-file for every migration of each family. Read-only. */
export async function migrationStatus(
  client: pg.ClientBase,
  targets: FamilyTarget[],
): Promise<MigrationStatus[]> {
  const rows: MigrationStatus[] = [];
  for (const target of targets) {
    const family = String(target.def.name);
    rows.push(
      ...compareWithHistory(
        family,
        listMigrationFiles(target.def),
        await readApplied(client, family),
      ),
    );
  }
  return rows;
}

/** True when every migration of the family is applied (and none changed or missing). */
export async function isFamilyApplied(
  client: pg.ClientBase,
  target: FamilyTarget,
): Promise<boolean> {
  const rows = await migrationStatus(client, [target]);
  return rows.length > 0 && rows.every((r) => r.state === 'applied');
}

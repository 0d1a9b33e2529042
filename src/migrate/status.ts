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

/**
 * Why a family's derived objects cannot be used yet (checked, resynced), or undefined when all
 * its migrations are applied. The reason names the command that fixes it.
 */
export async function whyNotApplied(
  client: pg.ClientBase,
  target: FamilyTarget,
): Promise<string | undefined> {
  const rows = await migrationStatus(client, [target]);
  const notApplied = rows.filter((r) => r.state !== 'applied' && r.state !== 'changed');
  if (rows.length > 0 && notApplied.length === 0) return undefined;
  if (rows.every((r) => r.state === 'pending')) {
    return `family ${target.def.name} is not applied (dbops migrate up ${target.def.name})`;
  }
  return `family ${target.def.name} is partly applied (${notApplied.map((r) => `${r.name}: ${r.state}`).join(', ')}); run dbops migrate up ${target.def.name}`;
}

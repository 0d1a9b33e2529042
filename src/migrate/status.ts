import type pg from 'pg';
import { listMigrationFiles } from './files.js';
import { type AppliedMigration, readAppliedAll } from './history.js';
import { compareWithHistory, type MigrationStatus } from './plan.js';
import type { FamilyTarget } from './runOne.js';

/** Applied / pending / changed / missing-file for every migration of each family. Read-only. */
export async function migrationStatus(
  client: pg.ClientBase,
  targets: FamilyTarget[],
): Promise<MigrationStatus[]> {
  const applied = await readAppliedAll(
    client,
    targets.map((t) => String(t.def.name)),
  );
  return targets.flatMap((target) => {
    const family = String(target.def.name);
    return compareWithHistory(family, listMigrationFiles(target.def), applied.get(family) ?? []);
  });
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
  return (await whyNotAppliedEach(client, [target])).get(String(target.def.name));
}

/** whyNotApplied for several families with one history read; keyed by family name. */
export async function whyNotAppliedEach(
  client: pg.ClientBase,
  targets: FamilyTarget[],
): Promise<Map<string, string | undefined>> {
  const history = await readAppliedAll(
    client,
    targets.map((t) => String(t.def.name)),
  );
  return reasonsNotApplied(targets, history);
}

/**
 * whyNotAppliedEach from history already read. A changed file counts as applied here (its
 * objects exist), so no migration file is hashed.
 */
export function reasonsNotApplied(
  targets: FamilyTarget[],
  history: Map<string, AppliedMigration[]>,
): Map<string, string | undefined> {
  return new Map(
    targets.map((t) => {
      const family = String(t.def.name);
      const rows = compareWithHistory(
        family,
        listMigrationFiles(t.def),
        history.get(family) ?? [],
        {
          checksums: false,
        },
      );
      return [family, reasonNotApplied(family, rows)];
    }),
  );
}

function reasonNotApplied(family: string, rows: MigrationStatus[]): string | undefined {
  const notApplied = rows.filter((r) => r.state !== 'applied' && r.state !== 'changed');
  if (rows.length > 0 && notApplied.length === 0) return undefined;
  if (rows.every((r) => r.state === 'pending')) {
    return `family ${family} is not applied (dbops migrate up ${family})`;
  }
  return `family ${family} is partly applied (${notApplied.map((r) => `${r.name}: ${r.state}`).join(', ')}); run dbops migrate up ${family}`;
}

import type pg from 'pg';
import type { ResolvedConfig } from '../config.js';
import { PreconditionError } from '../errors.js';
import { availableFamilies, getFamily } from '../families/index.js';
import type { FamilyName } from '../families/names.js';
import { type AppliedMigration, readAppliedAll } from './history.js';
import type { FamilyTarget } from './runOne.js';

/** Targets for family names given on the command line (validated against the registry). */
export function namedTargets(names: string[], config: ResolvedConfig): FamilyTarget[] {
  const unique = [...new Set(names)];
  // Registry order, so that two runs take family locks in the same order.
  const rank = (n: string) => (availableFamilies() as string[]).indexOf(n);
  unique.sort((a, b) => rank(a) - rank(b));
  return unique.map((name) => {
    const def = getFamily(name);
    return {
      def,
      schema: config.schemas[def.name as FamilyName],
      columnWriters: config.columnWriters,
    };
  });
}

/**
 * The families a command without family arguments works on: those in the config file, else
 * those this database has (base tables present, or migrations already applied).
 */
export async function defaultTargets(
  client: pg.ClientBase,
  config: ResolvedConfig,
): Promise<FamilyTarget[]> {
  // Loaded only here: check and resync never run a preflight.
  const { findBaseProblems } = await import('./preflight.js');
  const found = await configuredOr(client, config, async (target, applied) =>
    applied > 0 ? true : (await findBaseProblems(client, target.def, target.schema)).length === 0,
  );
  if (found.length === 0) {
    throw new PreconditionError(
      `no family's base tables were found in this database (looked for ${availableFamilies().join(', ')})`,
      'Name the family (dbops migrate up lookup) to see what is missing, or list families in dbops.config.json.',
    );
  }
  return found;
}

/**
 * The families `check` works on without family arguments: those in the config file (a
 * configured family that is not applied is reported as skipped, not ok), else those with at
 * least one migration applied (partly applied ones included, so they are reported too).
 */
export function checkedTargets(
  client: pg.ClientBase,
  config: ResolvedConfig,
  history?: Map<string, AppliedMigration[]>,
): Promise<FamilyTarget[]> {
  return configuredOr(client, config, async (_target, applied) => applied > 0, history);
}

/** The config's families, else every family for which `detect` (given its applied count) says yes. */
async function configuredOr(
  client: pg.ClientBase,
  config: ResolvedConfig,
  detect: (target: FamilyTarget, applied: number) => Promise<boolean>,
  /** Every family's history, when the caller has read it already. */
  read?: Map<string, AppliedMigration[]>,
): Promise<FamilyTarget[]> {
  if (config.families) return namedTargets(config.families, config);
  const found: FamilyTarget[] = [];
  const all = namedTargets(availableFamilies(), config);
  // One history read for every family: every migrate up, check and resync pays it.
  const history =
    read ??
    (await readAppliedAll(
      client,
      all.map((t) => String(t.def.name)),
    ));
  for (const target of all) {
    const applied = history.get(String(target.def.name))?.length ?? 0;
    if (await detect(target, applied)) found.push(target);
  }
  return found;
}

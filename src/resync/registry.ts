import { UsageError } from '../errors.js';
import { allFamilies } from '../families/index.js';
import type { FamilyDefinition } from '../families/types.js';
import type { ResyncTarget } from './types.js';

/**
 * The allowlist of derived target names, in the order `resync all` runs them (family registry
 * order). Known without loading any target's code.
 */
export function allTargetNames(): string[] {
  return allFamilies().flatMap((f) => f.resyncTargetNames);
}

/** Every derived target, in the order `resync all` runs them. */
export function allTargets(): Promise<ResyncTarget[]> {
  return targetsNamed(['all']);
}

/**
 * Targets named on the command line (`all` expands), in registry order; an unknown name is a
 * usage error, raised before any target's code is loaded. Only the families named are loaded.
 */
export async function targetsNamed(names: string[]): Promise<ResyncTarget[]> {
  const all = allTargetNames();
  for (const name of names) {
    if (name !== 'all' && !all.includes(name)) {
      throw new UsageError(
        `unknown resync target "${name}"`,
        `Targets: ${all.join(', ')}, or all.`,
      );
    }
  }
  const wanted = (name: string) => names.includes('all') || names.includes(name);
  const families = allFamilies().filter((f) => f.resyncTargetNames.some(wanted));
  const loaded = await Promise.all(families.map(loadTargets));
  return loaded.flat().filter((t) => wanted(t.name));
}

/** A family's targets, checked against the names its definition declares. */
async function loadTargets(family: FamilyDefinition): Promise<ResyncTarget[]> {
  const targets = await family.loadResyncTargets();
  const names = targets.map((t) => t.name);
  if (names.join(',') !== family.resyncTargetNames.join(',')) {
    throw new Error(
      `family ${family.name} declares resync targets ${family.resyncTargetNames.join(', ')} but loads ${names.join(', ')}`,
    );
  }
  return targets;
}

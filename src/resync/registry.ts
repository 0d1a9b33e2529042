import { UsageError } from '../errors.js';
import { allFamilies } from '../families/index.js';
import type { ResyncTarget } from './types.js';

/** The allowlist of derived targets, in the order `resync all` runs them (family registry order). */
export function allTargets(): ResyncTarget[] {
  return allFamilies().flatMap((f) => f.resyncTargets);
}

/** Targets named on the command line (`all` expands); an unknown name is a usage error. */
export function targetsNamed(names: string[]): ResyncTarget[] {
  const targets = allTargets();
  if (names.includes('all')) return targets;
  const chosen = new Set<ResyncTarget>();
  for (const name of names) {
    const target = targets.find((t) => t.name === name);
    if (!target) {
      throw new UsageError(
        `unknown resync target "${name}"`,
        `Targets: ${targets.map((t) => t.name).join(', ')}, or all.`,
      );
    }
    chosen.add(target);
  }
  return targets.filter((t) => chosen.has(t));
}

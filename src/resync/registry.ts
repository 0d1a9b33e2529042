import { UsageError } from '../errors.js';
import { checkpointsTarget } from './targets/checkpoints.js';
import { chunkingStatsTarget } from './targets/chunkingStats.js';
import { conversationStatsTarget } from './targets/conversationStats.js';
import { partitionLookupTarget } from './targets/partitionLookup.js';
import { sequenceNumbersTarget } from './targets/sequenceNumbers.js';
import type { ResyncTarget } from './types.js';

/** The allowlist of derived targets, in the order `resync all` runs them. */
const TARGETS: ResyncTarget[] = [
  partitionLookupTarget,
  conversationStatsTarget,
  sequenceNumbersTarget,
  checkpointsTarget,
  chunkingStatsTarget,
];

export function allTargets(): ResyncTarget[] {
  return [...TARGETS];
}

/** Targets named on the command line (`all` expands); an unknown name is a usage error. */
export function targetsNamed(names: string[]): ResyncTarget[] {
  if (names.includes('all')) return allTargets();
  const chosen = new Set<ResyncTarget>();
  for (const name of names) {
    const target = TARGETS.find((t) => t.name === name);
    if (!target) {
      throw new UsageError(
        `unknown resync target "${name}"`,
        `Targets: ${TARGETS.map((t) => t.name).join(', ')}, or all.`,
      );
    }
    chosen.add(target);
  }
  return TARGETS.filter((t) => chosen.has(t));
}

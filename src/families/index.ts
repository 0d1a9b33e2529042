import { UsageError } from '../errors.js';
import { checkpointFamily } from './checkpoint.js';
import { lookupFamily } from './lookup.js';
import { FAMILY_NAMES, type FamilyName, isFamilyName } from './names.js';
import { partitionFamily } from './partition.js';
import { sequenceFamily } from './sequence.js';
import type { FamilyDefinition } from './types.js';

/** The registry of families dbops ships. Order is the order commands process them in. */
const FAMILIES: Partial<Record<FamilyName, FamilyDefinition>> = {
  lookup: lookupFamily,
  partition: partitionFamily,
  checkpoint: checkpointFamily,
  sequence: sequenceFamily,
};

/** Families that have migrations in this build. */
export function availableFamilies(): FamilyName[] {
  return FAMILY_NAMES.filter((name) => FAMILIES[name] !== undefined);
}

/** Looks a family up by a name from argv or config; unknown names are a usage error. */
export function getFamily(name: string): FamilyDefinition {
  const family = isFamilyName(name) ? FAMILIES[name] : undefined;
  if (!family) {
    throw new UsageError(
      `unknown family "${name}"`,
      `Families: ${availableFamilies().join(', ')}.`,
    );
  }
  return family;
}

export type { FamilyDefinition } from './types.js';

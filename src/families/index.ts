import { UsageError } from '../errors.js';
import { checkpointFamily } from './checkpoint/family.js';
import { lookupFamily } from './lookup/family.js';
import { FAMILY_NAMES, type FamilyName, isFamilyName } from './names.js';
import { partitionFamily } from './partition/family.js';
import { sequenceFamily } from './sequence/family.js';
import type { FamilyDefinition } from './types.js';

/**
 * The registry of families dbops ships: one line per family (its folder holds the rest). Order
 * is the order commands process them in.
 */
const FAMILIES: Record<FamilyName, FamilyDefinition> = {
  lookup: lookupFamily,
  partition: partitionFamily,
  checkpoint: checkpointFamily,
  sequence: sequenceFamily,
};

/** Every family, in registry order. */
export function allFamilies(): FamilyDefinition[] {
  return FAMILY_NAMES.map((name) => FAMILIES[name]);
}

/** Names of the families in this build. */
export function availableFamilies(): FamilyName[] {
  return [...FAMILY_NAMES];
}

/** Looks a family up by a name from argv or config; unknown names are a usage error. */
export function getFamily(name: string): FamilyDefinition {
  if (!isFamilyName(name)) {
    throw new UsageError(
      `unknown family "${name}"`,
      `Families: ${availableFamilies().join(', ')}.`,
    );
  }
  return FAMILIES[name];
}

export type { DemoFamily, FamilyDefinition } from './types.js';

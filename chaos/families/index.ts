import type { FamilyHarness } from '../lib/harness.js';
import { checkpointHarness } from './checkpoint.js';
import { lookupHarness } from './lookup.js';
import { partitionHarness } from './partition.js';
import { sequenceHarness } from './sequence.js';

export const HARNESSES: FamilyHarness[] = [
  lookupHarness,
  partitionHarness,
  sequenceHarness,
  checkpointHarness,
];

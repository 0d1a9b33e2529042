import type { BenchFamily } from '../lib/types.js';
import checkpoint from './checkpoint.js';
import lookup from './lookup.js';
import partition from './partition.js';
import sequence from './sequence.js';

/**
 * Every family the bench can run, by name, in run order. A family adds its module
 * `bench/ops/<family>.ts` (default export: a BenchFamily), an import and one line here.
 */
export const BENCH_FAMILIES: Record<string, BenchFamily> = {
  lookup,
  partition,
  checkpoint,
  sequence,
};

import { allFamilies, type DemoFamily } from '../families/index.js';

/**
 * Skew thresholds for the demo's data: a few thousand collections hashed into 100 partitions put
 * only tens of collections in each, so max/avg sits around 1.4-1.7 however even the collections
 * are. Production defaults (1.1 / 1.2) assume far more collections per partition.
 */
export const DEMO_SKEW = { warn: 2, fail: 3 };

/** Families the demo tours, in registry order. */
export function loadDemoFamilies(): Promise<DemoFamily[]> {
  return Promise.all(allFamilies().map((f) => f.loadDemo()));
}

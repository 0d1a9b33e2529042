import type pg from 'pg';
import { silentProgress } from '../../src/progress.js';
import { targetsNamed } from '../../src/resync/registry.js';
import { runResync } from '../../src/resync/run.js';
import type { FamilyHarness } from './harness.js';

/**
 * `resync` of the family's targets through the same service the CLI calls, on a connection of
 * the suite (a history runs hundreds of them; a process per resync would dominate the run).
 * Returns the failures.
 */
export async function resyncInProcess(client: pg.Client, h: FamilyHarness): Promise<string[]> {
  const results = await runResync(
    {
      client,
      progress: silentProgress,
      signal: new AbortController().signal,
      schemaOf: () => h.schema,
      unavailable: async () => undefined,
    },
    await targetsNamed(h.resyncTargets),
    { dryRun: false, batchSize: 500 },
  );
  // Two resyncs of one target at once: the second is refused by design (exit 2 from the CLI,
  // "another dbops resync ... is running"); that is not a violation.
  return results
    .filter((r) => r.status !== 'done' && !/another dbops resync/.test(r.message ?? ''))
    .map((r) => `${r.target}: ${r.status} ${r.message ?? ''}`);
}

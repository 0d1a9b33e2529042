import type { RunOutput, SideName } from './types.js';

/**
 * What a run of a check or resync operation reported, read the same way for both sides: the
 * baseline's one result row, or dbops' `--format json` report.
 */

/** Finding counts by name: the baseline's row, or dbops' checks with the `<family>.` prefix cut. */
export function checkCounts(side: SideName, output: RunOutput): Record<string, number> {
  if (side === 'baseline') return output.rows![0] as Record<string, number>;
  const report = JSON.parse(output.stdout!) as { checks: { id: string; count: number }[] };
  return Object.fromEntries(report.checks.map((c) => [c.id.replace(/^[a-z]+\./, ''), c.count]));
}

/** Throws unless every expected count is what the run reported (both: name -> count). */
export function expectCounts(what: string, side: SideName, got: object, expected: object): void {
  const reported = got as Record<string, unknown>;
  for (const [kind, n] of Object.entries(expected)) {
    if (reported[kind] !== n)
      throw new Error(`${what} (${side}): ${kind} ${reported[kind]}, expected ${n}`);
  }
}

export interface ResyncNumbers {
  inserted: number;
  updated: number;
  deleted: number;
}

/** The numbers of the (one) target in `dbops resync ... --format json`. */
export function resyncNumbers(output: RunOutput): ResyncNumbers {
  const report = JSON.parse(output.stdout!) as { targets: { numbers: ResyncNumbers }[] };
  return report.targets[0]!.numbers;
}

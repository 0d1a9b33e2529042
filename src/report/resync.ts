import type { ResyncResult } from '../resync/run.js';
import { makeReport, type Report } from './types.js';

/** `resync`: one item per target with rows inserted/updated/deleted and duration. */
export function resyncReport(command: string, started: Date, results: ResyncResult[]): Report {
  const failed = results.find((r) => r.error);
  return makeReport({
    command,
    kind: 'targets',
    started,
    items: results.map((r) => ({
      id: r.target,
      status: r.status === 'failed' ? 'error' : r.status,
      title: r.family,
      numbers: { ...r.counts, durationMs: r.durationMs, batches: r.batches },
      ...(r.message ? { message: r.message } : {}),
      ...(r.status === 'dry-run' && r.counts.inserted + r.counts.updated + r.counts.deleted > 0
        ? { hint: `dbops resync ${r.target}` }
        : {}),
    })),
    ...(failed?.error
      ? {
          error: {
            kind: failed.error.kind,
            message: failed.error.message,
            ...(failed.error.hint ? { hint: failed.error.hint } : {}),
          },
        }
      : {}),
  });
}

import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where each chaos file appends its JSON lines (one per kill point, mix or history run). */
export const RESULTS_DIR = process.env.CHAOS_RESULTS_DIR ?? 'chaos-results';

export function record(kind: string, entry: object): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  appendFileSync(
    join(RESULTS_DIR, `${kind}.jsonl`),
    `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`,
  );
}

import type { Report } from './types.js';

/** Exactly one JSON document; the item list is keyed by the report kind (checks/migrations/targets). */
export function renderJson(report: Report): string {
  const { kind, items, ...rest } = report;
  const { notes, error, ...head } = rest;
  return `${JSON.stringify({ ...head, [kind]: items, ...(notes ? { notes } : {}), ...(error ? { error } : {}) }, null, 2)}\n`;
}

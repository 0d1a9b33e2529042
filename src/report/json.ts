import type { Report } from './types.js';

/** Exactly one JSON document; the item list is keyed by the report kind (checks/migrations/targets). */
export function renderJson(report: Report): string {
  return `${JSON.stringify(jsonDocument(report), null, 2)}\n`;
}

/** The JSON document as an object (fleet mode embeds one per target). */
export function jsonDocument(report: Report): Record<string, unknown> {
  const { kind, items, ...rest } = report;
  const { notes, error, ...head } = rest;
  return { ...head, [kind]: items, ...(notes ? { notes } : {}), ...(error ? { error } : {}) };
}

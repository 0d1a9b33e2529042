import { maskUrl } from '../db/connection.js';
import { jsonDocument } from '../report/json.js';
import { familyCells } from './matrix.js';
import type { FleetReport } from './types.js';

/**
 * One JSON document: the run's verdict and counts, then per target its status, the matrix cells,
 * and the full single-database report(s) exactly as `--format json` prints them for one database.
 */
export function fleetJsonDocument(report: FleetReport): Record<string, unknown> {
  const { targets, exitCode, counts, total, ...head } = report;
  return {
    ...head,
    status: exitCode === 0 ? 'ok' : exitCode === 1 ? 'fail' : 'error',
    exitCode,
    counts,
    total,
    targets: targets.map((t) => ({
      name: t.target.name,
      ...(t.target.group ? { group: t.target.group } : {}),
      url: maskUrl(t.target.url),
      status: t.status,
      ...(t.message ? { message: t.message } : {}),
      ...(t.phase ? { phase: t.phase } : {}),
      durationMs: t.durationMs,
      families: Object.fromEntries(familyCells(t)),
      ...(t.report ? { report: jsonDocument(t.report) } : {}),
      ...(t.state ? { state: jsonDocument(t.state) } : {}),
      ...(t.gate ? { gate: jsonDocument(t.gate) } : {}),
    })),
  };
}

export function renderFleetJson(report: FleetReport): string {
  return `${JSON.stringify(fleetJsonDocument(report), null, 2)}\n`;
}

import { annotation, escapeData, escapeProperty } from '../report/github.js';
import { familyCells, matrixFamilies } from './matrix.js';
import { summaryCounts } from './status.js';
import type { FleetReport } from './types.js';

/**
 * GitHub workflow commands: one annotation per finding titled `dbops <target> <check id>`, one per
 * target that could not be processed, then the summary line. `markdown` is the matrix for the
 * job summary.
 */
export function renderFleetGithub(report: FleetReport): { stdout: string; markdown: string } {
  const lines: string[] = [];
  for (const t of report.targets) {
    const items = [...(t.report?.items ?? []), ...(t.gate?.items ?? [])];
    for (const item of items) {
      const line = annotation(item, `dbops ${t.target.name} ${item.id}`);
      if (line) lines.push(line);
    }
    if (!['ok', 'warn', 'fail'].includes(t.status) || t.report?.error) {
      lines.push(
        `::error title=${escapeProperty(`dbops ${t.target.name}`)}::${escapeData(`${t.status}: ${t.message ?? t.report?.error?.message ?? ''}`)}`,
      );
    }
  }
  lines.push(`dbops ${report.command}: ${summaryCounts(report)}`);
  return { stdout: `${lines.join('\n')}\n`, markdown: markdown(report) };
}

function markdown(report: FleetReport): string {
  const families = matrixFamilies(report.targets);
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    `### dbops ${report.command}: ${summaryCounts(report)}`,
    '',
    `| target | status | ${families.join(' | ')} | detail |`,
    `|---|---|${families.map(() => '---|').join('')}---|`,
    ...report.targets.map((t) => {
      const cells = familyCells(t);
      return `| ${cell(t.target.name)} | ${t.status} | ${families.map((f) => cell(cells.get(f)?.text ?? '')).join(' | ')} | ${cell(t.message ?? '')} |`;
    }),
    '',
  ].join('\n');
}

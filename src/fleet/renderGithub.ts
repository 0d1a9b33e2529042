import { escapeData, escapeProperty, findingMessage } from '../report/github.js';
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
      const command =
        ['fail', 'failed', 'error'].includes(item.status) || item.notOk
          ? 'error'
          : item.status === 'warn'
            ? 'warning'
            : undefined;
      if (!command) continue;
      lines.push(
        `::${command} title=${escapeProperty(`dbops ${t.target.name} ${item.id}`)}::${escapeData(findingMessage(item))}`,
      );
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

import Table from 'cli-table3';
import type { Style } from '../report/style.js';
import { paint } from '../report/table.js';
import { familyCells, matrixFamilies } from './matrix.js';
import { summaryCounts } from './status.js';
import type { FleetReport } from './types.js';

/**
 * The matrix: one row per target, one column per family, the reason in DETAIL; the last line
 * is the verdict with the count of each status (`38 ok, 1 fail, 1 unreachable of 40`).
 */
export function renderFleetTable(
  report: FleetReport,
  options: { color: boolean; style: Style; width?: number },
): string {
  const c = options.style;
  const width = options.width ?? 100;
  const families = matrixFamilies(report.targets);
  const phases = report.targets.some((t) => t.phase);
  const nameWidth = Math.min(
    32,
    Math.max(8, ...report.targets.map((t) => t.target.name.length)) + 2,
  );
  const famWidth = 18;
  const used = nameWidth + 15 + (phases ? 10 : 0) + families.length * famWidth;
  const head = [
    'TARGET',
    'STATUS',
    ...(phases ? ['PHASE'] : []),
    ...families.map((f) => f.toUpperCase()),
    'DETAIL',
  ];
  const detailWidth = Math.max(24, width - used - head.length - 1);
  const table = new Table({
    head,
    colWidths: [
      nameWidth,
      15,
      ...(phases ? [10] : []),
      ...families.map(() => famWidth),
      Math.max(24, width - used - head.length - 1),
    ],
    wordWrap: true,
    wrapOnWordBoundary: true,
    style: { head: options.color ? ['bold'] : [], border: [], compact: true },
  });
  for (const t of report.targets) {
    const cells = familyCells(t);
    table.push([
      t.target.name,
      paint(
        c,
        t.status === 'not-attempted' ? 'skipped' : t.status === 'ok' ? 'ok' : 'fail',
        t.status,
      ),
      ...(phases ? [t.phase ?? ''] : []),
      ...families.map((f) => {
        const cell = cells.get(f);
        return cell ? paint(c, cell.status, cell.text) : '';
      }),
      breakLongWords(t.message ?? '', detailWidth - 2),
    ]);
  }
  const verdict = report.exitCode === 0 ? 'OK' : report.exitCode === 1 ? 'FAIL' : 'ERROR';
  const seconds = (report.durationMs / 1000).toFixed(1);
  const last = `${paint(c, report.exitCode === 0 ? 'ok' : 'fail', verdict)} ${report.command}: ${summaryCounts(report)} (${seconds} s)`;
  return `${table.toString()}\n${last}\n`;
}

/** cli-table3 cuts a word longer than the column (a URL) with an ellipsis: break it instead. */
function breakLongWords(text: string, width: number): string {
  return text.replace(new RegExp(`\\S{${width + 1},}`, 'g'), (word) =>
    (word.match(new RegExp(`.{1,${width}}`, 'g')) ?? [word]).join('\n'),
  );
}

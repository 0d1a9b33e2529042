import type { Report, ReportItem } from './types.js';

/**
 * GitHub Actions workflow commands: `::error` for fail/error items, `::warning` for warn items,
 * then one plain summary line. `markdown` is the job summary the CLI appends to
 * $GITHUB_STEP_SUMMARY when that variable is set.
 */
export function renderGithub(report: Report): { stdout: string; markdown: string } {
  const lines: string[] = [];
  for (const item of report.items) {
    const line = annotation(item, `dbops ${item.id}`);
    if (line) lines.push(line);
  }
  lines.push(`dbops ${report.command}: ${report.status} (${report.items.length} ${report.kind})`);
  return { stdout: `${lines.join('\n')}\n`, markdown: markdown(report) };
}

/** `::error` for fail/error items, `::warning` for warn items, nothing for the rest. */
export function annotation(item: ReportItem, title: string): string | undefined {
  const command =
    ['fail', 'failed', 'error'].includes(item.status) || item.notOk
      ? 'error'
      : item.status === 'warn'
        ? 'warning'
        : undefined;
  if (!command) return undefined;
  return `::${command} title=${escapeProperty(title)}::${escapeData(findingMessage(item))}`;
}

/** One finding as annotation text: count and title, sample, message, fix. */
function findingMessage(item: ReportItem): string {
  const parts = [`${item.count ?? 0} × ${item.title ?? item.id}`];
  if (item.sample && item.sample.length > 0) parts.push(`sample: ${item.sample.join(', ')}`);
  if (item.message) parts.push(item.message);
  if (item.hint) parts.push(`fix: ${item.hint}`);
  return parts.join('\n');
}

function markdown(report: Report): string {
  const rows = report.items.map(
    (i) =>
      `| ${i.status} | \`${i.id}\` | ${i.count ?? ''} | ${cell(i.sample?.join(', ') ?? '')} | ${i.status === 'ok' ? '' : cell(i.hint ?? '')} |`,
  );
  return [
    `### dbops ${report.command}: ${report.status}`,
    '',
    '| status | check | count | sample | fix |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Workflow command data: %, CR and LF must be escaped. */
export function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** Workflow command properties additionally escape ':' and ','. */
export function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

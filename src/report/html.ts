import type { SkewAnalysis } from '../checks/skew.js';
import { exitCodeFor, type Report, type ReportItem } from './types.js';

/**
 * `--format html`: one self-contained page (inline CSS and SVG; nothing is loaded from the
 * network) a person opens after a CI run: the summary, every item with status, count, sample
 * and fix; for skew a bar chart of rows per partition with hot and cold marked; for
 * `migrate status` a timeline of the applied migrations.
 */
export function renderHtml(report: Report, failOn: 'warn' | 'fail' = 'fail'): string {
  const title = `dbops ${report.command}: ${report.status}`;
  const body = [
    header(report, failOn),
    report.error ? errorBox(report.error) : '',
    ...skewSections(report),
    report.command === 'migrate status' ? timeline(report) : '',
    itemTable(report),
    report.notes && report.notes.length > 0
      ? `<section><h2>Notes</h2><pre>${esc(report.notes.join('\n'))}</pre></section>`
      : '',
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body.filter(Boolean).join('\n')}
<footer>dbops report schema ${report.schemaVersion} · started ${esc(report.startedAt)} · ${report.durationMs} ms</footer>
</body>
</html>
`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;text-transform:uppercase;color:#fff;background:#57606a}
.s-ok,.s-applied,.s-done,.s-reverted,.s-planned{background:#1a7f37}.s-warn,.s-changed,.s-partial,.s-dry-run{background:#9a6700}
.s-fail,.s-failed,.s-error,.s-missing-file{background:#cf222e}.s-skipped,.s-pending{background:#6e7781}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:90px}.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;margin-top:4px}th,td{border-bottom:1px solid #d8dee4;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}pre{background:#f6f8fa;padding:10px;border-radius:6px;overflow:auto;white-space:pre-wrap}
.error{border:1px solid #cf222e;background:#ffebe9;padding:10px 14px;border-radius:6px}
.muted{color:#57606a}.legend span{margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
footer{margin-top:32px;color:#57606a;font-size:12px}
`;

function esc(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const badge = (status: string) =>
  `<span class="badge s-${esc(status.replace(/[^a-z-]/g, ''))}">${esc(status)}</span>`;

function header(report: Report, failOn: 'warn' | 'fail'): string {
  const byStatus = new Map<string, number>();
  for (const item of report.items) byStatus.set(item.status, (byStatus.get(item.status) ?? 0) + 1);
  const cards = [...byStatus]
    .map(([status, n]) => `<div class="card">${badge(status)}<b>${n}</b></div>`)
    .join('');
  const noun = { checks: 'checks', migrations: 'migrations', targets: 'resync targets' }[
    report.kind
  ];
  return `<header>
<h1>dbops ${esc(report.command)} ${badge(report.status)}</h1>
<div class="muted">${report.items.length} ${noun} · exit code ${exitCodeFor(report, failOn)} · ${esc(report.startedAt)} · ${report.durationMs} ms</div>
<div class="summary">${cards}</div>
</header>`;
}

function errorBox(error: NonNullable<Report['error']>): string {
  return `<section class="error"><b>${esc(error.kind)} error:</b> ${esc(error.message)}${error.hint ? `<br>hint: ${esc(error.hint)}` : ''}</section>`;
}

function itemTable(report: Report): string {
  if (report.kind === 'checks') {
    const rows = report.items.map(
      (
        i,
      ) => `<tr id="${esc(i.id)}"><td>${badge(i.status)}</td><td><code>${esc(i.id)}</code><br><span class="muted">${esc(i.title ?? '')}</span></td>
<td class="num">${i.count ?? ''}</td><td><code>${esc((i.sample ?? []).join(', '))}</code></td>
<td>${i.status === 'ok' ? '' : `<code>${esc(i.hint ?? '')}</code>`}${i.message ? `<br><span class="muted">${esc(i.message)}</span>` : ''}</td></tr>`,
    );
    return `<section><h2>Checks</h2><table><thead><tr><th>status</th><th>check</th><th>count</th><th>sample</th><th>fix</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></section>`;
  }
  const numberKeys = [...new Set(report.items.flatMap((i) => Object.keys(i.numbers ?? {})))];
  const showApplied = report.items.some((i) => i.details?.appliedAt);
  const rows = report.items.map(
    (
      i,
    ) => `<tr><td>${badge(i.status)}</td><td><code>${esc(i.id)}</code></td>${showApplied ? `<td>${esc(String(i.details?.appliedAt ?? ''))}</td>` : ''}
${numberKeys.map((k) => `<td class="num">${i.numbers?.[k] ?? ''}</td>`).join('')}<td>${esc(i.message ?? '')}${i.hint ? ` <code>${esc(i.hint)}</code>` : ''}</td></tr>`,
  );
  const heads = [
    'status',
    report.kind === 'targets' ? 'target' : 'migration',
    ...(showApplied ? ['applied at (UTC)'] : []),
    ...numberKeys,
    'note',
  ];
  return `<section><h2>${report.kind === 'targets' ? 'Targets' : 'Migrations'}</h2><table><thead><tr>${heads.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table></section>`;
}

function skewSections(report: Report): string[] {
  return report.items
    .filter((i): i is ReportItem & { details: { skew: SkewAnalysis } } =>
      Boolean(i.details && (i.details as { skew?: unknown }).skew),
    )
    .map((i) => skewChart(i.details.skew, i.status));
}

const HOT = '#cf222e';
const COLD = '#0969da';
const NORMAL = '#8c959f';

/** One bar per partition (natural name order), hot red, cold blue, the average dashed. */
export function skewChart(a: SkewAnalysis, status: string): string {
  const parts = [...a.partitions].sort((x, y) =>
    x.name.localeCompare(y.name, undefined, { numeric: true }),
  );
  const hot = new Set(a.hot);
  const cold = new Set(a.cold);
  const width = 1040;
  const height = 260;
  const left = 56;
  const bottom = 40;
  const plotW = width - left - 10;
  const plotH = height - bottom - 16;
  const max = Math.max(a.max, 1);
  const step = plotW / Math.max(parts.length, 1);
  const barW = Math.max(1, step * 0.8);
  const y = (rows: number) => 16 + plotH - (rows / max) * plotH;
  const bars = parts.map((p, k) => {
    const x = left + k * step + (step - barW) / 2;
    const kind = hot.has(p.name) ? 'hot' : cold.has(p.name) ? 'cold' : 'normal';
    const fill = kind === 'hot' ? HOT : kind === 'cold' ? COLD : NORMAL;
    const label = parts.length <= 40 || k % 10 === 0 || kind !== 'normal';
    return `<rect class="bar ${kind}" x="${x.toFixed(1)}" y="${y(p.rows).toFixed(1)}" width="${barW.toFixed(1)}" height="${(16 + plotH - y(p.rows)).toFixed(1)}" fill="${fill}"><title>${esc(p.name)}: ${p.rows} rows (${kind})</title></rect>${
      kind !== 'normal'
        ? `<text x="${(x + barW / 2).toFixed(1)}" y="${(16 + plotH + 14).toFixed(1)}" text-anchor="middle" fill="${fill}">${kind === 'hot' ? 'H' : 'c'}</text>`
        : ''
    }${label && parts.length <= 40 ? `<text x="${(x + barW / 2).toFixed(1)}" y="${(16 + plotH + 28).toFixed(1)}" text-anchor="middle" class="muted">${esc(shortName(p.name))}</text>` : ''}`;
  });
  const avgY = y(a.avg).toFixed(1);
  const chart = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="rows per partition of ${esc(a.table)}">
<line x1="${left}" y1="${16 + plotH}" x2="${width - 10}" y2="${16 + plotH}" stroke="#57606a"/>
<line x1="${left}" y1="16" x2="${left}" y2="${16 + plotH}" stroke="#57606a"/>
<text x="${left - 6}" y="20" text-anchor="end">${a.max}</text><text x="${left - 6}" y="${16 + plotH}" text-anchor="end">0</text>
${bars.join('\n')}
<line x1="${left}" y1="${avgY}" x2="${width - 10}" y2="${avgY}" stroke="#1f2328" stroke-dasharray="5 4"/><text x="${width - 12}" y="${Number(avgY) - 4}" text-anchor="end">avg ${a.avg.toFixed(1)}</text>
</svg>`;
  const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  return `<section class="skew"><h2>Rows per partition of <code>${esc(a.table)}</code> ${badge(status)}</h2>
<div class="muted">${esc(a.status)} · max/avg ${fmt(a.ratio)} · CV ${fmt(a.cv)} · ${a.partitions.length} partitions · ${a.total} rows · ${a.method === 'exact' ? 'exact counts' : 'estimates from statistics'} · cause: ${esc(a.cause)}</div>
<div class="legend"><span><i class="sw" style="background:${HOT}"></i>hot (H, above avg x hot): ${names(a.hot)}</span><span><i class="sw" style="background:${COLD}"></i>cold (c, below avg x cold): ${names(a.cold)}</span><span>- - - average</span></div>
${chart}
${a.advice ? `<p>action: ${esc(a.advice)}</p>` : ''}
</section>`;
}

/** A list of partitions, the first few named (each bar's tooltip names the rest). */
function names(list: string[], shown = 12): string {
  if (list.length === 0) return 'none';
  const rest = list.length - shown;
  return `${list.length}: ${esc(list.slice(0, shown).join(', '))}${rest > 0 ? ` and ${rest} more` : ''}`;
}

/** chunks_part_07 -> 07: partition names share a prefix; the axis shows what differs. */
function shortName(name: string): string {
  const m = /(\d+)$/.exec(name);
  return m ? m[1]! : name.slice(-6);
}

/** `migrate status`: applied migrations on a time axis, one row per family. */
function timeline(report: Report): string {
  const applied = report.items
    .filter((i) => typeof i.details?.appliedAtIso === 'string')
    .map((i) => ({
      id: i.id,
      family: i.id.split('/')[0]!,
      at: new Date(String(i.details!.appliedAtIso)).getTime(),
    }))
    .sort((x, y) => x.at - y.at);
  if (applied.length === 0)
    return '<section><h2>Timeline</h2><p class="muted">No migration is applied.</p></section>';
  const families = [...new Set(applied.map((a) => a.family))];
  const t0 = applied[0]!.at;
  const t1 = Math.max(applied.at(-1)!.at, t0 + 1000);
  const width = 1040;
  const left = 110;
  const rowH = 34;
  const height = families.length * rowH + 40;
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * (width - left - 30);
  const rows = families.map((f, r) => {
    const cy = 24 + r * rowH;
    const dots = applied
      .filter((a) => a.family === f)
      .map(
        (a) =>
          `<circle class="migration" cx="${x(a.at).toFixed(1)}" cy="${cy}" r="6" fill="#1a7f37"><title>${esc(a.id)} applied ${new Date(a.at).toISOString()}</title></circle>`,
      );
    return `<text x="${left - 10}" y="${cy + 4}" text-anchor="end">${esc(f)}</text><line x1="${left}" y1="${cy}" x2="${width - 30}" y2="${cy}" stroke="#d0d7de"/>${dots.join('')}`;
  });
  const axisY = height - 10;
  const list = applied
    .map((a) => `<li><code>${esc(a.id)}</code> ${new Date(a.at).toISOString()}</li>`)
    .join('');
  return `<section class="timeline"><h2>Timeline of applied migrations</h2>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="applied migrations over time">
${rows.join('\n')}
<text x="${left}" y="${axisY}">${new Date(t0).toISOString()}</text><text x="${width - 30}" y="${axisY}" text-anchor="end">${new Date(t1).toISOString()}</text>
</svg>
<ol class="muted">${list}</ol>
</section>`;
}

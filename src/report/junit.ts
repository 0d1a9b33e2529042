import type { Report, ReportItem } from './types.js';

/**
 * JUnit XML: one testsuite per family, one testcase per item. fail/error items carry count,
 * sample and hint; warn items fail only with --fail-on warn (else they pass with the text in
 * system-out); skipped items are <skipped/>, or failures when they count as not ok.
 */
export function renderJunit(report: Report, failOn: 'warn' | 'fail' = 'fail'): string {
  const groups = new Map<string, ReportItem[]>();
  for (const item of report.items) {
    const family = item.family ?? item.id.split('.')[0] ?? 'dbops';
    groups.set(family, [...(groups.get(family) ?? []), item]);
  }
  const isFailure = (i: ReportItem) =>
    i.status === 'fail' ||
    i.status === 'failed' ||
    i.notOk === true ||
    (i.status === 'warn' && failOn === 'warn');
  const suites = [...groups].map(([family, items]) => {
    const cases = items.map((i) => testcase(i, isFailure(i)));
    const failures = items.filter(isFailure).length;
    const errors = items.filter((i) => i.status === 'error').length;
    const skippedCount = items.filter((i) => i.status === 'skipped' && !i.notOk).length;
    const time = items.reduce((s, i) => s + (i.numbers?.durationMs ?? 0), 0) / 1000;
    return `  <testsuite name="${esc(family)}" tests="${items.length}" failures="${failures}" errors="${errors}" skipped="${skippedCount}" time="${time.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  const total = (pred: (i: ReportItem) => boolean) => report.items.filter(pred).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="dbops ${esc(report.command)}" tests="${report.items.length}" failures="${total(isFailure)}" errors="${total((i) => i.status === 'error')}" skipped="${total((i) => i.status === 'skipped' && !i.notOk)}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

/** One <testcase>; `classPrefix` lets fleet mode put the target in the class name. */
export function testcase(item: ReportItem, failure: boolean, classPrefix = 'dbops'): string {
  const open = `    <testcase classname="${esc(classPrefix)}.${esc(item.family ?? 'dbops')}" name="${esc(item.id)}" time="${((item.numbers?.durationMs ?? 0) / 1000).toFixed(3)}"`;
  const text = findingText(item);
  if (item.status === 'skipped' && !failure)
    return `${open}>\n      <skipped message="${esc(item.message ?? 'skipped')}"/>\n    </testcase>`;
  if (item.status === 'error')
    return `${open}>\n      <error message="${esc(item.message ?? 'error')}">${esc(text)}</error>\n    </testcase>`;
  if (failure) {
    return `${open}>\n      <failure message="${esc(`${item.count ?? 0} × ${item.title ?? item.id}`)}" type="${esc(item.status)}">${esc(text)}</failure>\n    </testcase>`;
  }
  if (item.status === 'warn')
    return `${open}>\n      <system-out>${esc(`WARN ${text}`)}</system-out>\n    </testcase>`;
  return `${open}/>`;
}

/** count, sample and hint of a finding as plain text. */
export function findingText(item: ReportItem): string {
  const lines = [`${item.title ?? item.id}`, `count: ${item.count ?? 0}`];
  if (item.sample && item.sample.length > 0) lines.push(`sample: ${item.sample.join(', ')}`);
  if (item.message) lines.push(item.message);
  if (item.hint) lines.push(`fix: ${item.hint}`);
  return lines.join('\n');
}

export function esc(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

import { describe, expect, it } from 'vitest';
import { caretAt } from '../../src/db/pgError.js';
import { renderJson } from '../../src/report/json.js';
import { loadStyle, plainStyle } from '../../src/report/style.js';
import { renderTable } from '../../src/report/table.js';
import { exitCodeFor, makeReport } from '../../src/report/types.js';

const report = (statuses: string[]) =>
  makeReport({
    command: 'check all',
    kind: 'checks',
    started: new Date(),
    items: statuses.map((status, i) => ({
      id: `x.c${i}`,
      status,
      count: i,
      hint: 'dbops resync x',
    })),
  });

describe('reports', () => {
  it('derives the overall status and the exit code from items', () => {
    expect(exitCodeFor(report(['ok', 'skipped']))).toBe(0);
    expect(exitCodeFor(report(['ok', 'warn']))).toBe(0);
    expect(exitCodeFor(report(['ok', 'warn']), 'warn')).toBe(1);
    expect(exitCodeFor(report(['warn', 'fail']))).toBe(1);
    expect(exitCodeFor(report(['fail', 'error']))).toBe(2);
  });

  it('json is one document with the stable top-level keys and items under the kind', () => {
    const doc = JSON.parse(renderJson(report(['ok', 'fail'])));
    expect(Object.keys(doc)).toEqual([
      'schemaVersion',
      'command',
      'status',
      'startedAt',
      'durationMs',
      'checks',
    ]);
    expect(doc.checks[1]).toMatchObject({
      id: 'x.c1',
      status: 'fail',
      count: 1,
      hint: 'dbops resync x',
    });
  });

  it('table has no colour codes when colour is off, and fits 80 columns', async () => {
    expect(await loadStyle(false)).toBe(plainStyle);
    const text = renderTable(report(['ok', 'fail']), { color: false, style: plainStyle });
    expect(text).not.toContain('\u001b[');
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    const style = await loadStyle(true);
    expect(renderTable(report(['fail']), { color: true, style })).toContain('\u001b[');
  });

  it('points at the error position in the SQL', () => {
    expect(caretAt('SELECT 1;\nSELEC 2;', 11)).toEqual(['line 2: SELEC 2;', '        ^']);
  });
});

import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { caretAt } from '../../src/db/pgError.js';
import { renderJson } from '../../src/report/json.js';
import { loadStyle, plainStyle } from '../../src/report/style.js';
import { renderTable, tableRows } from '../../src/report/table.js';
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

  it('items wrapped into rows before cli-table3 draw exactly what its own word wrap draws', () => {
    // Deterministic words of 0-30 characters, between 1-3 spaces or a newline.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const texts = ['', ' ', 'ok', '  leading and trailing  ', 'a\n\nb', 'x'.repeat(40)];
    for (let t = 0; t < 60; t++) {
      const words = Array.from({ length: next(16) }, () =>
        'abcdefghij-./:'.repeat(3).slice(0, next(31)),
      );
      texts.push(words.map((w) => w + [' ', '  ', '   ', '\n'][next(4)]).join(''));
    }
    // Not plain ASCII: left to cli-table3 (the same either way).
    texts.push(
      'café au lait '.repeat(5),
      '\u001b[31mred\u001b[39m words '.repeat(4),
      '表 '.repeat(30),
    );
    const draw = (rows: Table.Cell[][], widths: number[], wrap: boolean) => {
      const table = new Table({
        head: ['A', 'B', 'C'],
        colWidths: widths,
        wordWrap: wrap,
        wrapOnWordBoundary: true,
        style: { head: [], border: [], compact: true },
      });
      table.push(...rows);
      return table.toString();
    };
    const green = '\u001b[32mok\u001b[39m';
    for (const [i, text] of texts.entries()) {
      const widths = [8 + (i % 40), 6, 5 + (i % 7)];
      // Two items: this text with a coloured status, then the next text.
      const items = [
        [text, green, texts[(i + 1) % texts.length]!],
        ['ok', 'x', text],
      ];
      const rows = items.flatMap((cells) => tableRows(cells, widths));
      expect(draw(rows, widths, false)).toBe(draw(items, widths, true));
    }
  });

  it('points at the error position in the SQL', () => {
    expect(caretAt('SELECT 1;\nSELEC 2;', 11)).toEqual(['line 2: SELEC 2;', '        ^']);
  });
});

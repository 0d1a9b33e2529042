import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { renderBoxTable } from '../../src/report/boxTable.js';
import { paintFor } from '../../src/report/paint.js';

/** What the report printed with cli-table3 before renderBoxTable replaced it (no head style). */
function withCliTable3(head: string[], widths: number[], rows: string[][]): string {
  const table = new Table({
    head,
    colWidths: widths,
    wordWrap: true,
    wrapOnWordBoundary: true,
    style: { head: [], border: [], compact: true },
  });
  for (const row of rows) table.push(row);
  return table.toString();
}

const WORDS = [
  'ok',
  'fail',
  'lookup.missing',
  'partitions',
  'with',
  'no',
  'row',
  '0192f6a8-7c1e-4d2b-9a53-6c2f0b1e8d47,',
  'dbops resync partition-lookup',
  'e.g.',
  'fix:',
  '12345',
  'a-very-long-identifier-that-cannot-fit-anywhere-in-a-column',
  '',
];

/** Deterministic pseudo-random cells: words, spaces, line breaks and colour codes. */
function cells(seed: number, count: number): string[] {
  let x = seed;
  const next = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const paint = paintFor(true);
  return Array.from({ length: count }, () => {
    const parts: string[] = [];
    for (let i = next(9); i > 0; i--) {
      const word = WORDS[next(WORDS.length)]!;
      // Colour as the reports use it: around one word (a status), never across a space.
      const colored = next(5) === 0 && !word.includes(' ');
      parts.push(colored ? paint.red(word) : word, [' ', '  ', '\n', ' '][next(4)]!);
    }
    return parts.join('').trimEnd();
  });
}

describe('renderBoxTable', () => {
  it('draws what cli-table3 drew for the same cells and widths', () => {
    const layouts = [
      { head: ['STATUS', 'CHECK', 'COUNT', 'DETAIL'], widths: [9, 30, 7, 29] },
      { head: ['STATUS', 'MIGRATION', 'APPLIED / TOOK'], widths: [10, 47, 20] },
      {
        head: ['STATUS', 'TARGET', 'INSERTED', 'UPDATED', 'DELETED', 'MS'],
        widths: [9, 20, 10, 10, 10, 20],
      },
    ];
    let compared = 0;
    for (const [n, { head, widths }] of layouts.entries()) {
      for (let seed = 1; seed <= 60; seed++) {
        const rows = Array.from({ length: 1 + (seed % 4) }, (_, r) =>
          cells(seed * 31 + r * 7 + n, widths.length),
        );
        expect(renderBoxTable({ head, widths }, rows), `layout ${n} seed ${seed}`).toBe(
          withCliTable3(head, widths, rows),
        );
        compared++;
      }
    }
    expect(compared).toBe(180);
  });

  it('styles the header cells only when asked', () => {
    const text = renderBoxTable({ head: ['A', 'B'], widths: [5, 6], styleHead: (t) => `<${t}>` }, [
      ['x', 'y'],
    ]);
    expect(text.split('\n')[1]).toBe('│< A   >│<  B   >│'.replace('<  B   >', '< B    >'));
    expect(text.split('\n')[3]).toBe('│ x   │ y    │');
  });
});

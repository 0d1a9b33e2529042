import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/checks/skew.js';
import { skewHistogram } from '../../src/report/checks.js';
import { paintFor } from '../../src/report/paint.js';

const settings = { table: 't', warn: 1.1, fail: 1.2, hot: 1.2, cold: 0.8 };

describe('skew histogram', () => {
  it('one column per partition in natural order, hot marked H and cold c, scaled to the max', () => {
    const rows = [300, 0, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100];
    const partitions = rows.map((n, i) => ({ name: `p${i}`, rows: n }));
    // Name order p0, p1, p10, p11, p2 ... must not leak into the picture.
    partitions.sort((a, b) => a.name.localeCompare(b.name));
    const a = { table: 't', method: 'exact' as const, ...summarize(partitions, settings) };
    const lines = skewHistogram(a, paintFor(false), 80, 8);
    expect(lines).toHaveLength(1 + 8 + 1);
    const bars = lines.slice(1, 9).map((l) => l.split('│')[1]!);
    expect(bars.every((b) => b.length === 12)).toBe(true);
    expect(bars.map((b) => b[0]).join('')).toBe('████████'); // p0 = max: full height
    expect(bars[7]![1]).toBe(' '); // p1 empty
    // p2: 100/300 of 8 rows = 2 full rows and 5/8 of the third.
    expect(bars.map((b) => b[2]).join('')).toMatch(/^[ ·]{5}▅██$/);
    expect(lines[9]!.split('└')[1]).toBe('Hc          ');
    expect(lines[1]).toContain('300 │');
  });
});

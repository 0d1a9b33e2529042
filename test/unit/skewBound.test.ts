import { describe, expect, it } from 'vitest';
import { bestMaxLowerBound, diagnoseKeys, greedyMax } from '../../src/checks/skewBound.js';

/** The true optimum by trying every assignment (small cases only). */
function optimum(sizes: number[], m: number): number {
  let best = Number.POSITIVE_INFINITY;
  const loads = new Array<number>(m).fill(0);
  const place = (i: number) => {
    if (i === sizes.length) {
      best = Math.min(best, Math.max(...loads));
      return;
    }
    for (let j = 0; j < m; j++) {
      loads[j]! += sizes[i]!;
      place(i + 1);
      loads[j]! -= sizes[i]!;
    }
  };
  place(0);
  return best;
}

describe('best max any assignment of keys to partitions can reach', () => {
  it.each([
    // [sizes, partitions, optimum, which bound term decides]
    [[7, 1, 1, 1], 3, 7, 'largest key'],
    [[3, 3, 3, 3], 4, 3, 'largest key = average'],
    [[2, 2, 2, 2, 2, 2], 4, 4, 'pigeonhole k=1: 5 keys on 4 partitions'],
    [[4, 4, 4, 4], 3, 8, 'pigeonhole k=1 beats ceil(16/3) = 6'],
    [[5, 5, 4, 3, 3], 2, 10, 'average'],
    [[3, 3, 2, 2, 2], 2, 6, 'pigeonhole k=2: 2+2+2'],
    [[10, 1, 1, 1, 1, 1, 1, 1], 4, 10, 'one dominant key among many small'],
    [[1, 1, 1], 6, 1, 'fewer keys than partitions'],
  ])('%j on %i partitions: %i (%s)', (sizes, m, opt) => {
    expect(optimum(sizes, m)).toBe(opt);
    expect(bestMaxLowerBound(sizes, m)).toBe(opt);
    // The greedy placement exists, so it is at least the optimum, and LPT is within 4/3 of it.
    expect(greedyMax(sizes, m)).toBeGreaterThanOrEqual(opt);
    expect(greedyMax(sizes, m)).toBeLessThanOrEqual((4 / 3) * opt);
  });

  it('never exceeds the optimum, and the greedy placement never beats it (random cases)', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return 1 + (seed % n);
    };
    let exact = 0;
    for (let t = 0; t < 300; t++) {
      const m = rnd(3) + 1;
      const sizes = Array.from({ length: rnd(6) + 1 }, () => rnd(20));
      const opt = optimum(sizes, m);
      const bound = bestMaxLowerBound(sizes, m);
      expect(bound).toBeLessThanOrEqual(opt);
      expect(greedyMax(sizes, m)).toBeGreaterThanOrEqual(opt);
      if (bound === opt) exact++;
    }
    // The bound is a bound, not the optimum; on these cases it is exact most of the time.
    expect(exact).toBeGreaterThan(200);
  });

  it('names the keys that make each hot partition hot, with their share', () => {
    const byPartition = new Map([
      [
        'p0',
        new Map([
          ['a', 600],
          ['b', 300],
          ['c', 100],
        ]),
      ],
      ['p1', new Map([['d', 100]])],
      ['p2', new Map<string, number>()],
    ]);
    const d = diagnoseKeys('collection_id', byPartition, ['p0']);
    expect(d).toMatchObject({
      distinct: 4,
      largest: { key: 'a', rows: 600, partition: 'p0' },
      bestMax: 600,
      oversized: true,
    });
    expect(d.excess).toBeCloseTo(1000 / 600, 6);
    expect(d.hot[0]!.keys.map((k) => [k.key, k.share])).toEqual([
      ['a', 0.6],
      ['b', 0.3],
      ['c', 0.1],
    ]);
  });
});

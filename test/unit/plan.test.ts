import { describe, expect, it } from 'vitest';
import type { MigrationFile } from '../../src/migrate/files.js';
import { compareWithHistory, selectToApply, selectToRevert } from '../../src/migrate/plan.js';

const file = (name: string, checksum = 'c'): MigrationFile => ({
  name,
  path: `/x/${name}.js`,
  checksum,
});
const applied = (name: string, checksum: string | null = 'c') => ({
  name,
  runOn: new Date(0),
  checksum,
});

describe('migration planning', () => {
  const files = [file('0001_a'), file('0002_b'), file('0003_c')];

  it('status marks applied, pending, changed and missing files', () => {
    const rows = compareWithHistory(
      'f',
      [file('0001_a'), file('0002_b', 'new')],
      [applied('0001_a'), applied('0002_b'), applied('0009_gone')],
    );
    expect(rows.map((r) => [r.name, r.state])).toEqual([
      ['0001_a', 'applied'],
      ['0002_b', 'changed'],
      ['0009_gone', 'missing-file'],
    ]);
    expect(compareWithHistory('f', files, [applied('0001_a', null)])[0]).toMatchObject({
      state: 'applied',
      checksumRecorded: false,
    });
  });

  it('up --to stops after the named migration, by name or index', () => {
    expect(selectToApply(files, [applied('0001_a')]).map((f) => f.name)).toEqual([
      '0002_b',
      '0003_c',
    ]);
    expect(selectToApply(files, [], '0002').map((f) => f.name)).toEqual(['0001_a', '0002_b']);
    expect(() => selectToApply(files, [], '0007')).toThrow(/no such migration/);
  });

  it('down selects newest first by count, --to (exclusive) or --all', () => {
    const all = [applied('0001_a'), applied('0002_b'), applied('0003_c')];
    expect(selectToRevert(all, { count: 1 })).toEqual(['0003_c']);
    expect(selectToRevert(all, { count: 2 })).toEqual(['0003_c', '0002_b']);
    expect(selectToRevert(all, { to: '0001' })).toEqual(['0003_c', '0002_b']);
    expect(selectToRevert(all, { all: true })).toEqual(['0003_c', '0002_b', '0001_a']);
    expect(() => selectToRevert(all, { to: '0009' })).toThrow(/not an applied migration/);
  });
});

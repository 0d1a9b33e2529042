import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

describe('config validation', () => {
  it('accepts an empty object and fills defaults', () => {
    const c = validateConfig({}, 'dbops.config.json');
    expect(c.lockTimeoutMs).toBe(3000);
    expect(c.schemas.lookup).toBe('queen');
    expect(c.skew).toMatchObject({ warn: 1.1, fail: 1.2, table: 'chunks' });
    expect(c.families).toBeUndefined();
  });

  it('reports every problem at once, with the file and key', () => {
    let error: unknown;
    try {
      validateConfig(
        {
          famlies: ['lookup'],
          families: ['lookup', 'nope'],
          lockTimeoutMs: -1,
          batchSize: 'big',
          skew: { warn: 2, fail: 1.5, extra: true },
          schemas: { lookup: '', other: 'x' },
        },
        '/tmp/dbops.config.json',
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('famlies: unknown key'),
        expect.stringContaining('families[1]: unknown family "nope"'),
        expect.stringContaining('lockTimeoutMs: must be an integer >= 1'),
        expect.stringContaining('batchSize: must be an integer >= 1'),
        expect.stringContaining('skew.extra: unknown key'),
        expect.stringContaining('skew.warn (2) must not exceed skew.fail (1.5)'),
        expect.stringContaining('schemas.lookup: must be a schema name'),
        expect.stringContaining('schemas.other: unknown family'),
      ]),
    );
    expect(problems).toHaveLength(8);
    expect((error as ConfigError).message).toContain('/tmp/dbops.config.json: 8 problems');
  });

  it('columnWriters: "<table>.<column>" to "app" or "dbops", every bad entry reported', () => {
    const ok = validateConfig(
      { columnWriters: { 'conversations.member_count': 'app' } },
      'dbops.config.json',
    );
    expect(ok.columnWriters).toEqual({ 'conversations.member_count': 'app' });
    expect(validateConfig({}, 'dbops.config.json').columnWriters).toEqual({});
    let error: unknown;
    try {
      validateConfig(
        { columnWriters: { member_count: 'app', 'conversations.last_message_id': 'me' } },
        'dbops.config.json',
      );
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).problems).toEqual([
      'columnWriters.member_count: the key must be "<table>.<column>"',
      'columnWriters.conversations.last_message_id: must be "app" (the application writes it) or "dbops" (dbops may take it over), got "me"',
    ]);
  });
});

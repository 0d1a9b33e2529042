import { describe, expect, it } from 'vitest';
import { maskSecrets, maskUrl, resolveConnection } from '../../src/db/connection.js';
import { UsageError } from '../../src/errors.js';

describe('connection resolution', () => {
  it('takes the flag over DATABASE_URL over the config file', () => {
    const flag = 'postgres://a@h/flag';
    const env = 'postgres://a@h/env';
    const file = 'postgres://a@h/file';
    expect(resolveConnection({ flagUrl: flag, envUrl: env, configUrl: file })).toEqual({
      url: flag,
      source: '--database-url',
    });
    expect(resolveConnection({ envUrl: env, configUrl: file })).toEqual({
      url: env,
      source: 'DATABASE_URL',
    });
    expect(resolveConnection({ configUrl: file })).toEqual({ url: file, source: 'config file' });
    expect(resolveConnection({ pgEnvSet: true })).toEqual({
      url: undefined,
      source: 'PG* variables',
    });
    expect(resolveConnection({})).toEqual({ url: undefined, source: 'default' });
  });

  it('rejects malformed URLs and other schemes as usage errors', () => {
    expect(() => resolveConnection({ flagUrl: 'nonsense' })).toThrow(UsageError);
    expect(() => resolveConnection({ flagUrl: 'mysql://u@h/db' })).toThrow(
      /must start with postgres/,
    );
  });

  it('masks passwords in URLs and in free text', () => {
    expect(maskUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(maskUrl('postgres://u@h/db?password=secret&x=1')).toContain('password=***');
    expect(maskSecrets('failed for postgres://u:pw@h/db today')).toBe(
      'failed for postgres://u:***@h/db today',
    );
    expect(maskUrl('garbage://u:pw@h')).not.toContain('pw');
  });
});

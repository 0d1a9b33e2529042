import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureSession } from '../../src/db/session.js';
import {
  applyMigrations,
  type EngineDeps,
  redoMigrations,
  revertMigrations,
} from '../../src/migrate/engine.js';
import { readApplied } from '../../src/migrate/history.js';
import { silentProgress } from '../../src/progress.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const dir = fileURLToPath(new URL('../fixtures/migrations/twostep', import.meta.url));
const twostep = {
  def: { name: 'twostep', title: 'test', migrationsDir: dir, sourcesDir: dir, baseTables: [] },
  schema: 'public',
};

let db: TestDatabase;
let deps: EngineDeps;

beforeAll(async () => {
  db = await createTestDatabase('engine');
  await configureSession(db.client, { lockTimeoutMs: 2000 });
  deps = {
    client: db.client,
    settings: { lockRetries: 0, lockTimeoutMs: 2000, batchSize: 100 },
    progress: silentProgress,
    signal: new AbortController().signal,
    lockWaitMs: 1000,
  };
});
afterAll(() => db.drop());

async function exists(table: string): Promise<boolean> {
  const { rows } = await db.client.query('SELECT to_regclass($1) IS NOT NULL AS e', [table]);
  return rows[0].e;
}

describe('multi-migration runs are resumable, one transaction per migration', () => {
  it('keeps the first migration when the second fails, leaves nothing of the second, and a rerun finishes', async () => {
    await db.client.query('CREATE TABLE twostep_block ()');
    const failed = await applyMigrations(deps, [twostep]);
    expect(failed.outcomes.map((o) => [o.name, o.status])).toEqual([
      ['0001_first', 'done'],
      ['0002_second', 'failed'],
    ]);
    expect(failed.error?.kind).toBe('database');
    expect(failed.error?.message).toContain('second migration blocked');
    expect((await readApplied(db.client, 'twostep')).map((a) => a.name)).toEqual(['0001_first']);
    expect(await exists('twostep_first')).toBe(true);
    expect(await exists('twostep_second')).toBe(false);

    await db.client.query('DROP TABLE twostep_block');
    const rerun = await applyMigrations(deps, [twostep]);
    expect(rerun.error).toBeUndefined();
    expect(rerun.outcomes.map((o) => o.name)).toEqual(['0002_second']);
    expect((await readApplied(db.client, 'twostep')).map((a) => a.name)).toEqual([
      '0001_first',
      '0002_second',
    ]);
  });

  it('redo 1 reverts and re-applies exactly the last applied migration, not every pending one', async () => {
    await revertMigrations(deps, [twostep], { all: true });
    expect(await exists('twostep_first')).toBe(false);
    await applyMigrations(deps, [twostep], '0001');
    const run = await redoMigrations(deps, twostep, 1);
    expect(run.error).toBeUndefined();
    expect(run.outcomes.map((o) => `${o.direction} ${o.name}`)).toEqual([
      'down 0001_first',
      'up 0001_first',
    ]);
    expect((await readApplied(db.client, 'twostep')).map((a) => a.name)).toEqual(['0001_first']);
    expect(await exists('twostep_second')).toBe(false);
  });
});

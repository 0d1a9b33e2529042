import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// The smallest use of the test server, whichever globalSetup chose (embedded.test.ts runs this
// file alone against an embedded server to prove the fallback).
describe('the test server', () => {
  let db: TestDatabase | undefined;
  afterAll(() => db?.drop());

  it('is PostgreSQL 15 and gives each file a throwaway database that drop() removes', async () => {
    db = await createTestDatabase('server');
    const { rows } = await db.client.query<{ v: string }>(
      "SELECT current_setting('server_version_num') AS v",
    );
    expect(Number(rows[0]!.v)).toBeGreaterThanOrEqual(150000);
    await db.client.query('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)');
    expect((await db.client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);

    await db.drop();
    const admin = new pg.Client({ connectionString: inject('serverUrl') });
    await admin.connect();
    const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
    await admin.end();
    db = undefined;
    expect(left.rowCount).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureSession } from '../../src/db/session.js';
import { ensureHistory, readApplied, readAppliedAll } from '../../src/migrate/history.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// The fixed cost of every command: session set-up in one statement, every family's history in
// one read. These tests pin down that batching them changed nothing a command can observe.
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('session_history');
});
afterAll(async () => {
  await db?.drop();
});

describe('configureSession', () => {
  it('sets lock_timeout, statement_timeout and search_path in one statement', async () => {
    const client = await db.connect();
    try {
      const queries: unknown[] = [];
      const query = client.query.bind(client);
      client.query = ((...args: Parameters<typeof query>) => {
        queries.push(args[0]);
        return query(...args);
      }) as typeof client.query;
      await configureSession(client, {
        lockTimeoutMs: 1234,
        statementTimeoutMs: 0,
        searchPath: ['we"ird', 'public'],
      });
      client.query = query;
      expect(queries).toHaveLength(1);
      const { rows } = await client.query(
        `SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS stmt,
                current_setting('search_path') AS path`,
      );
      expect(rows[0]).toEqual({ lock: '1234ms', stmt: '0', path: '"we""ird", "public"' });
    } finally {
      await client.end();
    }
  });
});

describe('readAppliedAll', () => {
  it('reads every family in order, with missing history tables as empty lists', async () => {
    await ensureHistory(db.client, 'alpha');
    await ensureHistory(db.client, 'beta');
    await db.client.query(
      `INSERT INTO dbops.migrations_alpha (name, run_on, checksum) VALUES
         ('0002_b', '2024-01-02', 'c2'), ('0001_a', '2024-01-01 10:11:12.345678+02', NULL),
         ('0003_c', '2024-01-02', 'c3'), ('0004_<&>"''\\', '2024-01-03', 'c4')`,
    );
    const queries: unknown[] = [];
    const query = db.client.query.bind(db.client);
    db.client.query = ((...args: Parameters<typeof query>) => {
      queries.push(args[0]);
      return query(...args);
    }) as typeof db.client.query;
    const all = await readAppliedAll(db.client, ['alpha', 'beta', 'gamma']);
    db.client.query = query;
    // One round trip, whichever history tables exist.
    expect(queries).toHaveLength(1);
    expect([...all.keys()]).toEqual(['alpha', 'beta', 'gamma']);
    // run_on, then id: the order the migrations ran in.
    expect(all.get('alpha')!.map((m) => [m.name, m.checksum])).toEqual([
      ['0001_a', null],
      ['0002_b', 'c2'],
      ['0003_c', 'c3'],
      // Read through XML and JSON: characters both escape come back as they were.
      ['0004_<&>"\'\\', 'c4'],
    ]);
    // run_on as pg itself reads it (to the millisecond).
    const { rows } = await db.client.query<{ name: string; run_on: Date }>(
      'SELECT name, run_on FROM dbops.migrations_alpha ORDER BY run_on, id',
    );
    expect(all.get('alpha')!.map((m) => m.runOn)).toEqual(rows.map((r) => r.run_on));
    expect(all.get('beta')).toEqual([]);
    expect(all.get('gamma')).toEqual([]);
    expect(await readApplied(db.client, 'alpha')).toEqual(all.get('alpha'));
    expect(await readApplied(db.client, 'gamma')).toEqual([]);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, waitForDbopsLockWait } from '../helpers/db.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('locks');
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 3, partitions: 50, messages: 500 });
});
afterAll(() => db.drop());

describe('DDL under lock_timeout', () => {
  it('gives up after bounded retries with exit 2 and a clear message when a long transaction holds messages', async () => {
    const writer = await db.connect();
    await writer.query('BEGIN');
    await writer.query('LOCK TABLE queen.messages IN ROW EXCLUSIVE MODE'); // an open write transaction
    const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
    writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ lockRetries: 2 }));
    const started = Date.now();
    const r = await runCli(['--lock-timeout', '200', 'migrate', 'up', 'lookup'], {
      url: db.url,
      cwd,
    });
    await writer.query('ROLLBACK');
    await writer.end();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /lookup\/0001_partition_lookup \(up\): could not get its table locks within lock_timeout 200 ms after 3 attempts/,
    );
    expect(r.stderr).toContain('retry 2/2');
    expect(Date.now() - started).toBeLessThan(10_000);
    const { rows } = await db.client.query(`SELECT to_regclass('queen.partition_lookup') AS t`);
    expect(rows[0].t).toBeNull();
  });

  it('retries after a lock timeout and succeeds once the blocking transaction ends', async () => {
    const writer = await db.connect();
    await writer.query('BEGIN');
    await writer.query('LOCK TABLE queen.messages IN ROW EXCLUSIVE MODE');
    const run = startCli(['--lock-timeout', '200', 'migrate', 'up', 'lookup'], { url: db.url });
    // Release only after dbops has waited on the lock at least once.
    expect(await waitForDbopsLockWait(db.client)).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    await writer.query('COMMIT');
    await writer.end();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('lock_timeout (200 ms) reached, retry 1/5');
  });
});

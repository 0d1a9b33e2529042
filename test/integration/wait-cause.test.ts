import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { novaBaseSchemaSql, seedNova } from '../../src/families/sequence/fixture.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let cwd: string;

beforeAll(async () => {
  db = await createTestDatabase('wait_cause');
  await db.client.query(novaBaseSchemaSql());
  await seedNova(db.client, { conversations: 50, messages: 500 });
  cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ lockRetries: 1 }));
  const r = await runCli(['migrate', 'up', 'sequence', '--to', '0007'], { url: db.url, cwd });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => db.drop());

/** A session in the same database running a statement that touches no table. */
async function sleeper(seconds: number) {
  const c = await db.connect();
  await c.query(`SELECT set_config('application_name', 'sleeper', false)`);
  const done = c.query('SELECT pg_sleep($1)', [seconds]).catch(() => {});
  // Wait until it is running, so it is older than the index build.
  for (;;) {
    const { rows } = await db.client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sleeper' AND state = 'active'`,
    );
    if (rows[0].n > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    async end() {
      await db.client.query(
        `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'sleeper'`,
      );
      await done;
      await c.end();
    },
  };
}

describe('a concurrent index build waiting for an old transaction', () => {
  it('names the session it waited for (pid, age, query) and offers --wait', async () => {
    const s = await sleeper(60);
    const r = await runCli(['--lock-timeout', '300', 'migrate', 'up', 'sequence'], {
      url: db.url,
      cwd,
    });
    await s.end();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'sequence/0008_sequence_indexes (up): CREATE INDEX CONCURRENTLY did not finish within lock_timeout 300 ms after 2 attempts',
    );
    expect(r.stderr).toContain('even one touching no table');
    expect(r.stderr).toMatch(
      /waited for:\n {2}pid \d+ \(sleeper, user \w+, active for \d+ s\): SELECT pg_sleep\(\$1\)/,
    );
    expect(r.stderr).not.toContain('a long transaction holds a conflicting lock');
    expect(r.stderr).toContain('--wait <seconds>');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('with --wait it keeps retrying until the old transaction ends, then finishes', async () => {
    const s = await sleeper(4);
    const r = await runCli(['--lock-timeout', '300', 'migrate', 'up', 'sequence', '--wait', '60'], {
      url: db.url,
      cwd,
    });
    await s.end();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/lock_timeout \(300 ms\) reached, retry of --wait 60 s/);
    const { rows } = await db.client.query(
      `SELECT count(*)::int AS n FROM pg_index WHERE NOT indisvalid`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('rejects a --wait that is not a positive number of seconds (exit 2)', async () => {
    const r = await runCli(['migrate', 'up', 'sequence', '--wait', 'soon'], { url: db.url, cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--wait');
  });
});

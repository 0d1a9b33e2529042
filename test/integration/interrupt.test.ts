import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { lookupDrift } from '../helpers/lookup.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('interrupt');
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 10, partitions: 6000, messages: 12_000 });
});
afterAll(() => db.drop());

describe('Ctrl-C during a migration', () => {
  it('stops between committed batches with exit 2 and a rerun finishes the job', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
    writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 5 }));
    const run = startCli(['migrate', 'up', 'lookup'], { url: db.url, cwd });
    // Wait until the backfill has committed some batches, then interrupt.
    for (;;) {
      const { rows } = await db.client.query(
        `SELECT to_regclass('queen.partition_lookup') IS NOT NULL AS ready`,
      );
      if (rows[0].ready) {
        const { rows: n } = await db.client.query(
          'SELECT count(*)::int AS n FROM queen.partition_lookup',
        );
        if (n[0].n > 50) break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('interrupted');
    expect(result.stderr).toContain('Rerun');
    const { rows: history } = await db.client.query(
      'SELECT name FROM dbops.migrations_lookup ORDER BY name',
    );
    expect(history.map((r) => r.name)).toEqual(['0001_partition_lookup']);
    const { rows: partial } = await db.client.query(
      'SELECT count(*)::int AS n FROM queen.partition_lookup',
    );
    expect(partial[0].n).toBeLessThan(5500);

    const rerun = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('0002_partition_lookup_backfill');
    expect(await lookupDrift(db.client)).toBe(0);
  });
});

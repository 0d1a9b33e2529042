import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addCheckpoints,
  REAL_CHECKPOINT_FIXTURES,
  recordOneError,
  reserveAllConcurrently,
  startBeckettWriters,
} from '../helpers/checkpointReal.js';
import { runCli } from '../helpers/cli.js';
import {
  catalogSnapshot,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';

/** Every row of every table of the beckett schema that is not the family's own. */
async function baseRows(db: TestDatabase): Promise<Record<string, string>> {
  const { rows } = await db.client.query<{ t: string }>(
    `SELECT relname AS t FROM pg_class WHERE relnamespace = 'beckett'::regnamespace
        AND relkind = 'r' AND relname NOT IN ('checkpoints_ready', 'checkpoints_reserved')
      ORDER BY 1`,
  );
  const sums: Record<string, string> = {};
  for (const { t } of rows) sums[t] = await tableChecksum(db.client, `beckett.${t}`);
  return sums;
}

/** A working directory whose dbops.config.json sets small batches: population overlaps the writers. */
function smallBatches(batchSize: number): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize }));
  return cwd;
}

describe.each(REAL_CHECKPOINT_FIXTURES)('checkpoint family on real Beckett ($file)', (fx) => {
  let db: TestDatabase;
  let beforeUp: string[];
  const cli = (...args: string[]) => runCli(args, { url: db.url });

  beforeAll(async () => {
    db = await createTestDatabase(`checkpoint_real_${fx.keying}`);
    await loadRealFixture(db.client, fx.file);
    await addCheckpoints(db.client, fx.keying, 6_000);
    beforeUp = await catalogSnapshot(db.client, ['beckett']);
  });
  afterAll(() => db.drop());

  it('up under Beckett writers; checks ok; resync changes nothing; down restores; up again', async () => {
    const dry = await cli('migrate', 'up', 'checkpoint', '--dry-run');
    expect(await catalogSnapshot(db.client, ['beckett'])).toEqual(beforeUp);

    const writers = startBeckettWriters(db, fx.keying, fx.groups, 4);
    await new Promise((r) => setTimeout(r, 200));
    const up = await runCli(['migrate', 'up', 'checkpoint'], {
      url: db.url,
      cwd: smallBatches(100),
    });
    const stats = await writers.stop();
    expect(up.code, up.stderr).toBe(0);
    expect(dry.code, dry.stderr).toBe(up.code);
    expect(stats.errors).toEqual([]);
    expect(stats.upserts).toBeGreaterThan(0);
    expect(stats.failed).toBeGreaterThan(0);

    const check = await cli('check', 'all', 'checkpoint', '--format', 'json');
    expect(check.code, check.stdout).toBe(0);
    const failing = JSON.parse(check.stdout).checks.filter(
      (c: { status: string }) => c.status === 'fail',
    );
    expect(failing).toEqual([]);

    const resync = await cli('resync', 'checkpoints', '--format', 'json');
    expect(resync.code, resync.stderr).toBe(0);
    expect(JSON.parse(resync.stdout).targets[0].numbers).toMatchObject({
      inserted: 0,
      updated: 0,
      deleted: 0,
    });

    // Beckett's own error recording still writes retry[] entries through the family's function.
    const recorded = await recordOneError(db.client);
    expect(recorded.ok).toBe(true);
    expect(recorded.after).toMatchObject({ status: 'failed', n: recorded.before + 1 });
    expect(recorded.after.last).toMatch(/^\(\d+,"\{""type"": ""X""\}",/);

    const rowsBeforeDown = await baseRows(db);
    const down = await cli('migrate', 'down', 'checkpoint', '--all');
    expect(down.code, down.stderr).toBe(0);
    expect(await catalogSnapshot(db.client, ['beckett'])).toEqual(beforeUp);
    expect(await baseRows(db)).toEqual(rowsBeforeDown);

    const again = await cli('migrate', 'up', 'checkpoint');
    expect(again.code, again.stderr).toBe(0);
    expect((await cli('check', 'all', 'checkpoint')).code).toBe(0);
  });

  it('8 concurrent reservers: every due ready checkpoint handed out exactly once', async () => {
    const { rows } = await db.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM beckett.checkpoints_ready r
         JOIN beckett.checkpoints c ON c.id = r.id
        WHERE r.process_at <= now()`,
    );
    const ids = await reserveAllConcurrently(db, fx.groups, 8);
    expect(ids.length).toBeGreaterThan(100);
    expect(new Set(ids).size).toBe(ids.length);
    // Paused subscriptions' checkpoints stay ready; everything else due was handed out.
    expect(ids.length).toBeLessThanOrEqual(rows[0]!.n);
    const left = await db.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM beckett.checkpoints_ready r
         JOIN beckett.checkpoints c ON c.id = r.id
        WHERE r.process_at <= now() AND c.reserved_until IS NULL`,
    );
    expect(ids.length + left.rows[0]!.n).toBe(rows[0]!.n);
    expect((await cli('check', 'consistency', 'checkpoint')).code).toBe(0);
  });
});

describe('checkpoint family refuses a shape it cannot carry, in one round', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('checkpoint_real_refused');
    await loadRealFixture(db.client, 'checkpoint_real_v021.sql');
    // retries of a type error recording cannot append to, and a name the family creates.
    await db.client.query(`
      ALTER TABLE beckett.checkpoints ALTER COLUMN retries TYPE text USING retries::text;
      CREATE FUNCTION beckett.checkpoint_skip(ids bigint[]) RETURNS int LANGUAGE sql AS 'SELECT 0'`);
  });
  afterAll(() => db.drop());

  it('exit 2 for the dry run and the real run, every problem named, nothing applied', async () => {
    const before = await catalogSnapshot(db.client, ['beckett']);
    const dry = await runCli(['migrate', 'up', 'checkpoint', '--dry-run'], { url: db.url });
    const up = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
    for (const r of [dry, up]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('checkpoints.retries is text');
      expect(r.stderr).toContain('function checkpoint_skip already exists');
    }
    expect(await catalogSnapshot(db.client, ['beckett'])).toEqual(before);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointDrift, NO_DRIFT, seededBeckett } from '../helpers/checkpoint.js';
import { CORRUPTION, corruptCheckpoints, REPAIR } from '../helpers/checkpointCorruption.js';
import { runCheckpointWorkers, startInserter } from '../helpers/checkpointWorkers.js';
import { runCli, startCli } from '../helpers/cli.js';
import { type TestDatabase, tableChecksum, waitForDbopsLockWait } from '../helpers/db.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await seededBeckett('checkpoint_resync', { groups: 2, subscriptions: 4, checkpoints: 6000 });
  const up = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
  expect(up.code, up.stderr).toBe(0);
  // The seed has expired reservations; recovered, the database is healthy in every respect.
  await db.client.query('SELECT beckett.checkpoint_recover_expired(NULL, 100000)');
});
afterAll(() => db.drop());

async function checkJson(args: string[]) {
  const r = await runCli(['check', ...args, '--format', 'json'], { url: db.url });
  return { code: r.code, doc: JSON.parse(r.stdout), stderr: r.stderr };
}

const hotTables = async () => [
  await tableChecksum(db.client, 'beckett.checkpoints_ready'),
  await tableChecksum(db.client, 'beckett.checkpoints_reserved'),
];

describe('checkpoint checks and resync', () => {
  it('a healthy database reports ok for every checkpoint check (exit 0)', async () => {
    const { code, doc } = await checkJson(['all', 'checkpoint']);
    expect(code).toBe(0);
    expect(doc.status).toBe('ok');
    expect(doc.checks.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      ['checkpoint.schema', 'ok'],
      ['checkpoint.both', 'ok'],
      ['checkpoint.expired', 'ok'],
      ['checkpoint.ready-extra', 'ok'],
      ['checkpoint.ready-missing', 'ok'],
      ['checkpoint.reserved-extra', 'ok'],
      ['checkpoint.reserved-missing', 'ok'],
    ]);
  });

  it('finds exactly the drift created, with the right sample keys; the dry run counts it and changes nothing; resync repairs it', async () => {
    const keys = await corruptCheckpoints(db.client);
    const { code, doc } = await checkJson(['consistency', 'checkpoint']);
    expect(code).toBe(1);
    for (const [kind, count] of Object.entries(CORRUPTION)) {
      const item = doc.checks.find((c: { id: string }) => c.id === `checkpoint.${kind}`);
      expect(item, kind).toMatchObject({ count, status: 'fail', hint: 'dbops resync checkpoints' });
      expect(item.sample, kind).toEqual(keys[kind as keyof typeof keys].slice(0, 5));
    }
    expect(doc.checks.find((c: { id: string }) => c.id === 'checkpoint.expired').status).toBe('ok');

    const before = await hotTables();
    const dry = await runCli(['resync', 'checkpoints', '--dry-run', '--format', 'json'], {
      url: db.url,
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).targets[0]).toMatchObject({
      id: 'checkpoints',
      status: 'dry-run',
      numbers: REPAIR,
    });
    expect(await hotTables()).toEqual(before);

    const run = await runCli(
      ['resync', 'checkpoints', '--batch-size', '1000', '--format', 'json'],
      {
        url: db.url,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).targets[0]).toMatchObject({
      status: 'done',
      // 6000 ids in ranges of 1000; each batch finds where the next starts, so no empty 7th.
      numbers: { ...REPAIR, batches: 6 },
    });
    expect(run.stderr).toContain('resync checkpoints: 6000/6000');
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
    expect((await checkJson(['consistency', 'checkpoint'])).code).toBe(0);

    const again = await runCli(['resync', 'checkpoints', '--format', 'json'], { url: db.url });
    expect(JSON.parse(again.stdout).targets[0].numbers).toMatchObject({
      inserted: 0,
      updated: 0,
      deleted: 0,
    });
  });

  it('hot rows whose checkpoint is gone (foreign keys bypassed) are counted and deleted', async () => {
    await db.client.query('ALTER TABLE beckett.checkpoints_ready DISABLE TRIGGER ALL');
    await db.client.query(
      `INSERT INTO beckett.checkpoints_ready (id, process_at) VALUES (900000001, now()), (900000002, now())`,
    );
    await db.client.query('ALTER TABLE beckett.checkpoints_ready ENABLE TRIGGER ALL');
    const { doc } = await checkJson(['consistency', 'checkpoint']);
    expect(doc.checks.find((c: { id: string }) => c.id === 'checkpoint.ready-extra')).toMatchObject(
      {
        count: 2,
        sample: ['900000001', '900000002'],
      },
    );
    const run = await runCli(['resync', 'checkpoints', '--format', 'json'], { url: db.url });
    expect(JSON.parse(run.stdout).targets[0].numbers).toMatchObject({ deleted: 2 });
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('repairs drift while workers reserve and complete and new work arrives: no error, zero drift after', async () => {
    await corruptCheckpoints(db.client);
    const workers = await Promise.all(Array.from({ length: 6 }, () => db.connect()));
    const inserter = startInserter(await db.connect());
    const resync = startCli(['resync', 'checkpoints', '--batch-size', '100'], { url: db.url });
    const [result, stats] = await Promise.all([
      resync.done,
      runCheckpointWorkers(workers, {
        groups: ['group-1', 'group-2'],
        durationMs: 4000,
        timeout: '1 minute',
      }),
    ]);
    const inserted = await inserter.stop();
    await Promise.all(workers.map((w) => w.end()));
    expect(result.code, result.stderr).toBe(0);
    expect(stats.errors).toEqual([]);
    expect(stats.violations).toEqual([]);
    expect(inserted.errors).toEqual([]);
    expect(stats.reservations).toBeGreaterThan(100);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('a checkpoint reserved by a transaction in flight is waited for, never repaired from a stale read', async () => {
    // Its ready row is missing (drift), so the resync must repair it, and only a resync that
    // waits for the writer and reads its committed row does not write a ready row for a
    // checkpoint that is by then reserved. (A checkpoint without drift is not locked at all.)
    const { rows } = await db.client.query(
      'DELETE FROM beckett.checkpoints_ready WHERE id = (SELECT id FROM beckett.checkpoints_ready ORDER BY id OFFSET 10 LIMIT 1) RETURNING id',
    );
    const writer = await db.connect();
    await writer.query('BEGIN');
    await writer.query(
      `UPDATE beckett.checkpoints SET reserved_until = now() + interval '1 hour' WHERE id = $1`,
      [rows[0].id],
    );
    const resync = startCli(['resync', 'checkpoints', '--batch-size', '100000'], { url: db.url });
    const waited = await waitForDbopsLockWait(db.client);
    await new Promise((r) => setTimeout(r, 100));
    await writer.query('COMMIT'); // within the batch's lock_timeout: the batch goes on
    await writer.end();
    const result = await resync.done;
    expect(waited).toBe(true);
    expect(result.code, result.stderr).toBe(0);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('checkpoint.expired warns with the expired reservations (exit 0), which recovery clears', async () => {
    const { rows } = await db.client.query(
      `SELECT id::text FROM beckett.checkpoint_reserve_next('group-1', '-1 second')
       UNION ALL SELECT id::text FROM beckett.checkpoint_reserve_next('group-1', '-1 second')
       UNION ALL SELECT id::text FROM beckett.checkpoint_reserve_next('group-2', '-1 second')`,
    );
    const { code, doc } = await checkJson(['consistency', 'checkpoint']);
    expect(code).toBe(0);
    expect(doc.status).toBe('warn');
    expect(doc.checks.find((c: { id: string }) => c.id === 'checkpoint.expired')).toMatchObject({
      status: 'warn',
      count: 3,
      sample: rows.map((r) => r.id).sort(),
    });
    await db.client.query('SELECT beckett.checkpoint_recover_expired()');
    expect((await checkJson(['consistency', 'checkpoint'])).doc.status).toBe('ok');
  });

  it('checkpoint.schema finds a disabled trigger, a dropped index, a replaced rule, a dropped or disabled foreign key; redo fixes them', async () => {
    const c = db.client;
    await c.query('ALTER TABLE beckett.checkpoints DISABLE TRIGGER checkpoint_hot_tables_update');
    await c.query('DROP INDEX beckett.checkpoints_ready_process_at_idx');
    await c.query(`CREATE OR REPLACE FUNCTION beckett.checkpoint_is_ready(c beckett.checkpoints)
      RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT c.process_at IS NOT NULL AND c.reserved_until IS NULL $$`);
    await c.query(
      'ALTER TABLE beckett.checkpoints_reserved DROP CONSTRAINT checkpoints_reserved_id_fkey',
    );
    await c.query('ALTER TABLE beckett.checkpoints_ready DISABLE TRIGGER ALL');
    const { code, doc } = await checkJson(['schema', 'checkpoint']);
    expect(code).toBe(1);
    const item = doc.checks.find((x: { id: string }) => x.id === 'checkpoint.schema');
    expect(item.status).toBe('fail');
    expect([...item.sample].sort()).toEqual(
      [
        'index checkpoints_ready_process_at_idx is missing',
        'trigger checkpoint_hot_tables_update is disabled',
        'function checkpoint_is_ready has a body that differs from what its migration installed',
        'foreign key checkpoints_reserved(id) -> checkpoints(id) is missing',
        'foreign key checkpoints_ready(id) -> checkpoints(id) has disabled triggers',
      ].sort(),
    );
    expect(item.count).toBe(5);
    await c.query('ALTER TABLE beckett.checkpoints_ready ENABLE TRIGGER ALL');
    const redo = await runCli(['migrate', 'redo', 'checkpoint', '--count', '4'], { url: db.url });
    expect(redo.code, redo.stderr).toBe(0);
    const after = await checkJson(['all', 'checkpoint']);
    expect(after.code).toBe(0);
    expect(after.doc.status).toBe('ok');
    expect(await checkpointDrift(c)).toEqual(NO_DRIFT);
  });

  it('an unapplied family: checks and resync are skipped with the reason', async () => {
    const down = await runCli(['migrate', 'down', 'checkpoint', '--all'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    const skipped = await runCli(['resync', 'checkpoints', '--format', 'json'], { url: db.url });
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout).targets[0]).toMatchObject({
      status: 'skipped',
      message: expect.stringContaining('dbops migrate up checkpoint'),
    });
    // Never green on nothing: a requested family that was not checked fails the run.
    const checks = await checkJson(['all', 'checkpoint']);
    expect(checks.code).toBe(1);
    const notChecked = checks.doc.checks.filter((x: { status: string }) => x.status === 'skipped');
    expect(notChecked.length).toBe(checks.doc.checks.length - 1);
    expect(checks.doc.checks.at(-1).id).toBe('dbops.nothing-checked');
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli, startCli } from '../helpers/cli.js';
import {
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
  waitForDbopsLockWait,
} from '../helpers/db.js';
import { insertBatch, lookupDrift, partitionIds } from '../helpers/lookup.js';
import { CORRUPTION, corruptLookup, REPAIR } from '../helpers/lookupDrift.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('lookup_resync');
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 10, partitions: 2000, messages: 40_000 });
  const up = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
  expect(up.code, up.stderr).toBe(0);
});
afterAll(() => db.drop());

async function checkJson(args: string[]) {
  const r = await runCli(['check', ...args, '--format', 'json'], { url: db.url });
  return { code: r.code, doc: JSON.parse(r.stdout), stderr: r.stderr };
}

/** Each lookup row's xmin/xmax: a row written or locked since gets a new one. */
async function rowVersions(): Promise<Map<string, string>> {
  const { rows } = await db.client.query<{ id: string; v: string }>(
    `SELECT partition_id::text AS id, xmin::text || '/' || xmax::text AS v FROM queen.partition_lookup`,
  );
  return new Map(rows.map((r) => [r.id, r.v]));
}

describe('lookup checks and resync', () => {
  it('a healthy database reports ok for every lookup check (exit 0)', async () => {
    const { code, doc } = await checkJson(['all', 'lookup']);
    expect(code).toBe(0);
    expect(doc.status).toBe('ok');
    expect(doc.checks.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      ['lookup.schema', 'ok'],
      ['lookup.ahead', 'ok'],
      ['lookup.behind', 'ok'],
      ['lookup.missing', 'ok'],
      ['lookup.orphaned', 'ok'],
    ]);
  });

  it('finds exactly the drift created, with the right sample keys, then the dry run counts it and changes nothing, then resync repairs it', async () => {
    const keys = await corruptLookup(db.client);
    const { code, doc } = await checkJson(['consistency', 'lookup']);
    expect(code).toBe(1);
    for (const [kind, count] of Object.entries(CORRUPTION)) {
      const item = doc.checks.find((c: { id: string }) => c.id === `lookup.${kind}`);
      expect(item, kind).toMatchObject({
        count,
        status: kind === 'orphaned' ? 'warn' : 'fail',
        hint: 'dbops resync partition-lookup',
      });
      expect(item.sample, kind).toEqual(keys[kind as keyof typeof keys].slice(0, 5));
    }

    const before = await tableChecksum(db.client, 'queen.partition_lookup');
    const dry = await runCli(['resync', 'partition-lookup', '--dry-run', '--format', 'json'], {
      url: db.url,
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).targets[0]).toMatchObject({
      id: 'partition-lookup',
      status: 'dry-run',
      numbers: REPAIR,
    });
    expect(await tableChecksum(db.client, 'queen.partition_lookup')).toBe(before);

    const run = await runCli(
      ['resync', 'partition-lookup', '--batch-size', '300', '--format', 'json'],
      { url: db.url },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).targets[0]).toMatchObject({
      status: 'done',
      numbers: { ...REPAIR, batches: 7 },
    });
    expect(run.stderr).toContain('resync partition-lookup: 2000/2000');
    expect(await lookupDrift(db.client)).toBe(0);
    expect((await checkJson(['consistency', 'lookup'])).code).toBe(0);

    const again = await runCli(['resync', 'partition-lookup', '--format', 'json'], { url: db.url });
    expect(JSON.parse(again.stdout).targets[0].numbers).toMatchObject({
      inserted: 0,
      updated: 0,
      deleted: 0,
    });
  });

  it('resync neither writes nor locks lookup rows that are already right', async () => {
    const keys = await corruptLookup(db.client);
    const drifted = new Set(Object.values(keys).flat());
    const before = await rowVersions();
    const run = await runCli(['resync', 'partition-lookup', '--batch-size', '300'], {
      url: db.url,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await lookupDrift(db.client)).toBe(0);
    const after = await rowVersions();
    const touched = [...before].filter(([id, v]) => after.get(id) !== v).map(([id]) => id);
    expect(touched.length).toBeGreaterThan(0);
    expect(touched.filter((id) => !drifted.has(id))).toEqual([]);
  });

  it('repairs drift while 6 writers insert into the same partitions: no deadlock, nothing moved back, zero drift after', async () => {
    await corruptLookup(db.client);
    const ids = (await partitionIds(db.client)).slice(0, 300);
    const writers = await Promise.all(Array.from({ length: 6 }, () => db.connect()));
    const errors: unknown[] = [];
    const resync = startCli(['resync', 'partition-lookup', '--batch-size', '20'], { url: db.url });
    let done = false;
    void resync.done.then(() => {
      done = true;
    });
    let batches = 0;
    await Promise.all(
      writers.map(async (w) => {
        while (!done) {
          await insertBatch(w, ids, 1 + Math.floor(Math.random() * 20), 3600).catch((err) =>
            errors.push(err),
          );
          batches += 1;
        }
        await w.end();
      }),
    );
    const result = await resync.done;
    expect(result.code, result.stderr).toBe(0);
    expect(errors).toEqual([]);
    expect(batches).toBeGreaterThan(10);
    expect(await lookupDrift(db.client)).toBe(0);
  });

  it('a partition deleted while resync inserts its missing row is skipped, not a foreign-key error', async () => {
    // Queen's retention deletes partitions; the resync found this one's row missing in its
    // snapshot and, before the fix, failed the placeholder's foreign key once the delete committed.
    const { rows } = await db.client.query<{ id: string }>(
      `SELECT partition_id::text AS id FROM queen.partition_lookup ORDER BY partition_id LIMIT 1`,
    );
    const id = rows[0]!.id;
    await db.client.query('DELETE FROM queen.partition_lookup WHERE partition_id = $1', [id]);
    const deleter = await db.connect();
    await deleter.query('BEGIN');
    await deleter.query('DELETE FROM queen.partitions WHERE id = $1', [id]);
    const resync = startCli(['resync', 'partition-lookup'], { url: db.url });
    expect(await waitForDbopsLockWait(db.client)).toBe(true);
    await deleter.query('COMMIT');
    await deleter.end();
    const result = await resync.done;
    expect(result.code, result.stderr).toBe(0);
    expect(await lookupDrift(db.client)).toBe(0);
  });

  it('with --batch-size covering every partition, one pass repairs the same drift and writes only the drifted rows', async () => {
    const keys = await corruptLookup(db.client);
    const drifted = new Set(Object.values(keys).flat());
    const before = await rowVersions();
    const run = await runCli(
      ['resync', 'partition-lookup', '--batch-size', '5000', '--format', 'json'],
      { url: db.url },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).targets[0]).toMatchObject({
      status: 'done',
      numbers: { ...REPAIR, batches: 1 },
    });
    expect(await lookupDrift(db.client)).toBe(0);
    const after = await rowVersions();
    const touched = [...before].filter(([id, v]) => after.get(id) !== v).map(([id]) => id);
    expect(touched.length).toBeGreaterThan(0);
    expect(touched.filter((id) => !drifted.has(id))).toEqual([]);
  });

  it('the one pass waits for a push in flight and includes its message; pushes during the pass wait for it and are kept', async () => {
    const keys = await corruptLookup(db.client);
    const writer = await db.connect();
    // A push in flight: its trigger has written the lookup row of a behind partition, uncommitted.
    await writer.query('BEGIN');
    await writer.query(
      `INSERT INTO queen.messages (transaction_id, partition_id, payload, created_at)
       VALUES ('in-flight', $1, '{}', '2035-01-01')`,
      [keys.behind[0]],
    );
    const resync = startCli(['resync', 'partition-lookup', '--batch-size', '5000'], {
      url: db.url,
    });
    let done = false;
    void resync.done.then(() => {
      done = true;
    });
    const waiting = async () =>
      (
        await db.client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE relation = 'queen.partition_lookup'::regclass AND NOT granted`,
        )
      ).rows[0]!.n;
    for (let i = 0; i < 100 && (await waiting()) === 0; i++) await sleep(50);
    expect(await waiting()).toBe(1);
    expect(done).toBe(false);
    await writer.query('COMMIT');
    // More pushes while the pass runs (they queue behind its lock, then move rows forward).
    const ids = (await partitionIds(db.client)).slice(0, 300);
    while (!done) await insertBatch(writer, ids, 10, 3600);
    await writer.end();
    const result = await resync.done;
    expect(result.code, result.stderr).toBe(0);
    expect(await lookupDrift(db.client)).toBe(0);
    const { rows } = await db.client.query(
      'SELECT last_message_created_at FROM queen.partition_lookup WHERE partition_id = $1',
      [keys.behind[0]],
    );
    expect(rows).toEqual([{ last_message_created_at: new Date('2035-01-01T00:00:00Z') }]);
  });

  it('an unknown target is a usage error; an unapplied family is skipped with the reason', async () => {
    const bad = await runCli(['resync', 'nope'], { url: db.url });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown resync target "nope"');
    const down = await runCli(['migrate', 'down', 'lookup', '--all'], { url: db.url });
    expect(down.code).toBe(0);
    const skipped = await runCli(['resync', 'partition-lookup', '--format', 'json'], {
      url: db.url,
    });
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout).targets[0]).toMatchObject({
      status: 'skipped',
      message: expect.stringContaining('dbops migrate up lookup'),
    });
    // A requested family that was skipped is not ok (exit 1).
    const checks = await checkJson(['all', 'lookup']);
    expect(checks.code).toBe(1);
    const statuses = checks.doc.checks.map((c: { id: string; status: string }) => c.status);
    expect(statuses.filter((s: string) => s !== 'skipped')).toEqual(['fail']); // dbops.nothing-checked
    expect(statuses.filter((s: string) => s === 'skipped')).toHaveLength(5);
    // Never green on nothing: with no family applied, --allow-skipped does not make it ok.
    expect((await checkJson(['all', 'lookup', '--allow-skipped'])).code).toBe(1);
    expect((await runCli(['migrate', 'up', 'lookup'], { url: db.url })).code).toBe(0);
  });
});

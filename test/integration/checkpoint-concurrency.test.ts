import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointDrift,
  NO_DRIFT,
  RECORD_CHECKPOINTS_SQL,
  SUBSCRIPTION_DELETE_DEADLOCK,
  seededBeckett,
} from '../helpers/checkpoint.js';
import { runCheckpointWorkers, startInserter } from '../helpers/checkpointWorkers.js';
import { runCli, startCli } from '../helpers/cli.js';
import { type TestDatabase, waitForBackendLockWait } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connections(db: TestDatabase, n: number): Promise<pg.Client[]> {
  return Promise.all(Array.from({ length: n }, () => db.connect()));
}

async function closeAll(clients: pg.Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end()));
}

/**
 * Applies 0001 only, opens a writer transaction holding the highest candidate checkpoint (its
 * trigger has written that checkpoint's ready row), starts the rest of `migrate up` and waits until
 * the population batch is blocked on that writer. One batch covers the whole table.
 */
async function populationBlockedByWriter(db: TestDatabase) {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 100000 }));
  const first = await runCli(['migrate', 'up', 'checkpoint', '--to', '0001'], { url: db.url, cwd });
  expect(first.code, first.stderr).toBe(0);
  const { rows } = await db.client.query(
    `SELECT min(id) AS low, max(id) AS high,
            (SELECT id FROM beckett.checkpoints WHERE status = 'active' AND lagging
                AND reserved_until IS NULL ORDER BY id OFFSET 100 LIMIT 1) AS mid
       FROM beckett.checkpoints WHERE process_at IS NOT NULL AND reserved_until IS NULL AND status = 'active'`,
  );
  const writer = await db.connect();
  await writer.query('BEGIN');
  await writer.query(
    `UPDATE beckett.checkpoints SET process_at = now() - interval '2 hours' WHERE id = $1`,
    [rows[0].high],
  );
  const run = startCli(['migrate', 'up', 'checkpoint'], { url: db.url, cwd });
  for (let i = 0; i < 100; i++) {
    const { rows: waiting } = await db.client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'dbops' AND wait_event_type = 'Lock'`,
    );
    if (waiting[0].n > 0) break;
    await sleep(20);
  }
  return { run, writer, ids: rows[0] as { low: string; mid: string; high: string } };
}

describe('population while writers hold checkpoints', () => {
  let db: TestDatabase;
  afterEach(() => db.drop());

  it('a writer that takes checkpoints out of id order is never the deadlock victim', async () => {
    db = await seededBeckett('checkpoint_popwait', {
      groups: 1,
      subscriptions: 3,
      checkpoints: 3000,
    });
    const { run, writer, ids } = await populationBlockedByWriter(db);
    // The writer now wants a checkpoint the batch already holds: a deadlock cycle unless the
    // batch yields (its lock_timeout is below deadlock_timeout).
    await writer.query(
      `UPDATE beckett.checkpoints SET process_at = now() - interval '1 hour' WHERE id = $1`,
      [ids.low],
    );
    await sleep(1500); // past deadlock_timeout (1 s)
    await writer.query('COMMIT');
    await writer.end();
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('a batch hit lock_timeout, retry 1/10');
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('a checkpoint reserved while the batch runs never gets a stale ready row', async () => {
    db = await seededBeckett('checkpoint_popstale', {
      groups: 1,
      subscriptions: 3,
      checkpoints: 3000,
    });
    const { run, writer, ids } = await populationBlockedByWriter(db);
    // Reserved by another session after the batch's snapshot. Without the batch's FOR SHARE this
    // commits at once and the batch, resumed, writes the ready row it read before.
    const other = await db.connect();
    const reserving = other.query(
      `UPDATE beckett.checkpoints SET reserved_until = now() + interval '1 hour' WHERE id = $1`,
      [ids.mid],
    );
    await sleep(100);
    await writer.query('COMMIT'); // well within the batch's lock_timeout: it resumes
    await writer.end();
    await reserving;
    await other.end();
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*) FROM beckett.checkpoints_ready WHERE id = $1)::int AS ready,
              (SELECT count(*) FROM beckett.checkpoints_reserved WHERE id = $1)::int AS reserved`,
      [ids.mid],
    );
    expect(rows[0]).toEqual({ ready: 0, reserved: 1 });
  });
});

describe('checkpoint reservation under concurrency', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seededBeckett('checkpoint_conc', {
      groups: 2,
      subscriptions: 4,
      checkpoints: 4000,
      readyShare: 0.3,
    });
    const up = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
  });
  afterAll(() => db.drop());

  it('8 workers reserve, complete and fail for seconds while new work arrives: no checkpoint twice, none lost', async () => {
    const workers = await connections(db, 8);
    const inserter = startInserter(await db.connect());
    const stats = await runCheckpointWorkers(workers, {
      groups: ['group-1', 'group-2'],
      durationMs: 5000,
      timeout: '1 minute',
    });
    const inserted = await inserter.stop();
    await closeAll(workers);
    expect(stats.errors).toEqual([]);
    expect(stats.violations).toEqual([]);
    expect(inserted.errors).toEqual([]);
    expect(stats.stale).toBe(0); // nothing expires within a minute: every token is honoured
    // Enough of each path to mean something (about a third of what a loaded 2-core CI does).
    expect(stats.reservations).toBeGreaterThan(300);
    expect(stats.successes).toBeGreaterThan(100);
    expect(stats.retries).toBeGreaterThan(10);
    expect(stats.failures + stats.releases).toBeGreaterThan(10);
    expect(inserted.statements).toBeGreaterThan(10);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('recovery of expired reservations while workers stall, reserve and complete', async () => {
    const workers = await connections(db, 6);
    const recoverers = await connections(db, 2);
    const inserter = startInserter(await db.connect());
    const deadline = Date.now() + 4000;
    let recovered = 0;
    const recoverErrors: string[] = [];
    const recovering = recoverers.map(async (c) => {
      while (Date.now() < deadline) {
        try {
          const { rows } = await c.query(
            'SELECT beckett.checkpoint_recover_expired(NULL, 20) AS n',
          );
          recovered += rows[0].n;
        } catch (err) {
          recoverErrors.push((err as Error).message);
        }
        await sleep(10);
      }
    });
    const stats = await runCheckpointWorkers(workers, {
      groups: ['group-1', 'group-2'],
      durationMs: 4000,
      timeout: '150 milliseconds',
      stallShare: 0.3,
      stallMs: 250,
    });
    await Promise.all(recovering);
    const inserted = await inserter.stop();
    expect(stats.errors).toEqual([]);
    expect(recoverErrors).toEqual([]);
    expect(inserted.errors).toEqual([]);
    expect(stats.violations).toEqual([]);
    expect(recovered).toBeGreaterThan(10);
    expect(stats.stale).toBeGreaterThan(0); // stalled workers found their reservation recovered
    expect(stats.successes).toBeGreaterThan(30);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
    // Whatever expired is recoverable: a final sweep leaves no expired reservation.
    await sleep(200);
    while (
      (await recoverers[0]!.query('SELECT beckett.checkpoint_recover_expired() AS n')).rows[0].n > 0
    );
    const { rows } = await db.client.query(
      'SELECT count(*)::int AS n FROM beckett.checkpoints_reserved WHERE reserved_until <= now()',
    );
    expect(rows[0].n).toBe(0);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
    await closeAll([...workers, ...recoverers]);
  });
});

/** A connection with its backend pid, in an open transaction. */
async function begun(db: TestDatabase): Promise<{ c: pg.Client; pid: number }> {
  const c = await db.connect();
  const { rows } = await c.query('SELECT pg_backend_pid() AS pid');
  await c.query('BEGIN');
  return { c, pid: rows[0].pid as number };
}

/** What a statement ended with: its error, or undefined when it succeeded. */
function outcome(
  p: Promise<unknown>,
): Promise<{ code?: string; where?: string; detail?: string } | undefined> {
  return p.then(
    () => undefined,
    (err) => err,
  );
}

/**
 * The deadlock CI's chaos smoke run found (seed 374553415: `delete-subscription: 40P01`), staged
 * with explicit ordering: Beckett's record_checkpoints upsert holds a checkpoint k of subscription
 * S and inserts a new checkpoint under S, whose foreign key check wants KEY SHARE on S; the
 * subscription delete holds S and its ON DELETE CASCADE wants k. The same deadlock, with the same
 * victim and the same waits, with dbops applied and without: it is the application's own, which
 * is why the chaos harness classifies exactly these two errors (SUBSCRIPTION_DELETE_DEADLOCK) as
 * application errors.
 *
 * PostgreSQL checks a waiting session for a deadlock once, deadlock_timeout after it started
 * waiting, and aborts the session whose check finds the cycle. The tests let the first waiter's
 * check pass (twice deadlock_timeout) before the other session closes the cycle, so the victim
 * is always the one that closed it, however loaded the machine.
 */
describe.each([
  { applied: false, label: 'without dbops' },
  { applied: true, label: 'with dbops applied' },
])('a subscription delete against a record_checkpoints upsert into it, $label', ({ applied }) => {
  let db: TestDatabase;
  let pastDeadlockCheck: () => Promise<unknown>;
  beforeAll(async () => {
    db = await seededBeckett(`checkpoint_subdel_${applied ? 'up' : 'base'}`, {
      groups: 1,
      subscriptions: 2,
      checkpoints: 200,
    });
    if (applied) {
      const up = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
      expect(up.code, up.stderr).toBe(0);
    }
    const { rows } = await db.client.query(
      `SELECT setting::int AS ms FROM pg_settings WHERE name = 'deadlock_timeout'`,
    );
    pastDeadlockCheck = () => sleep(2 * rows[0].ms);
  });
  afterAll(() => db.drop());

  /** A new subscription S with 20 lagging checkpoints (ready ones, with dbops), in ctid order. */
  async function subscription() {
    const { rows } = await db.client.query(
      `INSERT INTO beckett.subscriptions (subscription_group_id, name, status)
       SELECT min(id), 'd-' || gen_random_uuid(), 'active' FROM beckett.subscription_groups
       RETURNING id::text`,
    );
    const s = rows[0].id as string;
    await db.client.query(
      `INSERT INTO beckett.checkpoints (subscription_id, stream_name, stream_version)
       SELECT $1, 's-' || g, 2 FROM generate_series(1, 20) g`,
      [s],
    );
    const { rows: order } = await db.client.query(
      'SELECT id::text, stream_name FROM beckett.checkpoints WHERE subscription_id = $1 ORDER BY ctid',
      [s],
    );
    expect(order).toHaveLength(20);
    if (applied) {
      const { rows: ready } = await db.client.query(
        `SELECT count(*)::int AS n FROM beckett.checkpoints_ready r JOIN beckett.checkpoints c USING (id)
          WHERE c.subscription_id = $1`,
        [s],
      );
      expect(ready[0].n).toBe(20); // the delete's cascade goes through dbops' hot tables too
    }
    return {
      s,
      first: order[0] as { id: string; stream_name: string },
      last: order[order.length - 1] as { id: string; stream_name: string },
    };
  }

  async function checkpointsOf(s: string): Promise<number> {
    const { rows } = await db.client.query(
      'SELECT count(*)::int AS n FROM beckett.checkpoints WHERE subscription_id = $1',
      [s],
    );
    return rows[0].n;
  }

  it('one upsert statement holds k and waits for S; the cascade then reaches k: the delete is the victim (as in CI)', async () => {
    const { s, first, last } = await subscription();
    // A worker holds S's first checkpoint, so the delete's cascade stops there, before k.
    const holder = await begun(db);
    await holder.c.query('SELECT 1 FROM beckett.checkpoints WHERE id = $1 FOR UPDATE', [first.id]);
    const del = await begun(db);
    const deleting = outcome(del.c.query('DELETE FROM beckett.subscriptions WHERE id = $1', [s]));
    expect(await waitForBackendLockWait(db.client, del.pid)).toBe(true);
    // The harness's upsert, in one statement: updates k (S's last checkpoint), inserts under S,
    // and its foreign key check waits for the delete, which holds S.
    const ups = await begun(db);
    const upserting = outcome(ups.c.query(RECORD_CHECKPOINTS_SQL, [s, s, 1, last.stream_name]));
    expect(await waitForBackendLockWait(db.client, ups.pid)).toBe(true);
    await pastDeadlockCheck(); // no cycle yet: the delete waits for the worker
    await holder.c.query('COMMIT');
    // The cascade goes on and waits for k, which the upsert holds: the cycle.
    const deleteErr = await deleting;
    expect(deleteErr?.code).toBe('40P01');
    expect(deleteErr?.where).toMatch(SUBSCRIPTION_DELETE_DEADLOCK.delete);
    expect(deleteErr?.detail).toContain(`Process ${del.pid} waits for ShareLock on transaction`);
    expect(deleteErr?.detail).toContain(`blocked by process ${ups.pid}.`);
    expect(await upserting).toBeUndefined();
    await del.c.query('ROLLBACK');
    await ups.c.query('COMMIT');
    await closeAll([holder.c, del.c, ups.c]);
    expect(await checkpointsOf(s)).toBe(21); // S's 20 and the upsert's new stream
    if (applied) expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('the delete waits for k, held by an upsert transaction whose next upsert inserts under S: the upsert is the victim', async () => {
    const { s, last } = await subscription();
    // A record_checkpoints upsert updates k (S's last checkpoint); its new stream goes under
    // another subscription, so this transaction holds k but no lock on S.
    const { rows } = await db.client.query(
      'SELECT min(id)::text AS other FROM beckett.subscriptions WHERE id <> $1',
      [s],
    );
    const ups = await begun(db);
    await ups.c.query(RECORD_CHECKPOINTS_SQL, [rows[0].other, s, 1, last.stream_name]);
    // The delete takes S and its cascade waits for k.
    const del = await begun(db);
    const deleting = outcome(del.c.query('DELETE FROM beckett.subscriptions WHERE id = $1', [s]));
    expect(await waitForBackendLockWait(db.client, del.pid)).toBe(true);
    await pastDeadlockCheck(); // no cycle yet: the upsert transaction waits for nothing
    // Its next upsert inserts under S: the foreign key check waits for the delete, the cycle.
    const upsertErr = await outcome(
      ups.c.query(RECORD_CHECKPOINTS_SQL, [s, s, 1, last.stream_name]),
    );
    expect(upsertErr?.code).toBe('40P01');
    expect(upsertErr?.where).toMatch(SUBSCRIPTION_DELETE_DEADLOCK.upsert);
    expect(upsertErr?.detail).toContain(`Process ${ups.pid} waits for ShareLock on transaction`);
    expect(upsertErr?.detail).toContain(`blocked by process ${del.pid}.`);
    await ups.c.query('ROLLBACK');
    expect(await deleting).toBeUndefined();
    await del.c.query('COMMIT');
    await closeAll([del.c, ups.c]);
    expect(await checkpointsOf(s)).toBe(0);
    const { rows: left } = await db.client.query(
      'SELECT count(*)::int AS n FROM beckett.subscriptions WHERE id = $1',
      [s],
    );
    expect(left[0].n).toBe(0);
    if (applied) expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_PREPROCESSOR_BODY } from '../../src/families/checkpoint/fixture.js';
import {
  beckettBaseState,
  checkpointDrift,
  NO_DRIFT,
  reserveNext,
  seededBeckett,
} from '../helpers/checkpoint.js';
import { runCli } from '../helpers/cli.js';
import { catalogSnapshot, type TestDatabase } from '../helpers/db.js';

/** Where each kind of checkpoint ended up: [checkpoints, in ready, in reserved]. */
async function placement(db: TestDatabase): Promise<Record<string, number[]>> {
  const { rows } = await db.client.query(`
    SELECT state, count(*)::int AS n, count(r.id)::int AS ready, count(v.id)::int AS reserved,
           count(*) FILTER (WHERE r.process_at <> c.process_at)::int AS wrong_at
      FROM (SELECT c.*, CASE
              WHEN reserved_until > now() THEN 'reserved'
              WHEN reserved_until <= now() THEN 'expired'
              WHEN status = 'failed' THEN 'failed'
              WHEN status = 'retry' AND process_at > now() THEN 'retry-later'
              WHEN status = 'retry' THEN 'retry-due'
              WHEN lagging AND process_at > now() THEN 'deferred'
              WHEN lagging THEN 'ready'
              WHEN process_at IS NOT NULL THEN 'caught-up-stale-process-at'
              ELSE 'caught-up' END AS state
              FROM beckett.checkpoints c) c
      LEFT JOIN beckett.checkpoints_ready r ON r.id = c.id
      LEFT JOIN beckett.checkpoints_reserved v ON v.id = c.id
     GROUP BY state`);
  for (const row of rows) expect(row.wrong_at, row.state).toBe(0);
  return Object.fromEntries(rows.map((r) => [r.state, [r.n, r.ready, r.reserved]]));
}

describe('checkpoint family on a seeded Beckett database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seededBeckett('checkpoint', { groups: 2, subscriptions: 4, checkpoints: 6000 });
    // Rows the 0.23.0 population got wrong (it took every process_at without a reservation):
    // a failed checkpoint that kept its process_at, and a caught-up one with a stale process_at.
    await db.client.query(`
      INSERT INTO beckett.checkpoints (subscription_id, stream_name, stream_version, stream_position, process_at, status)
      VALUES (1, 'odd-failed', 5, 4, now() - interval '1 minute', 'failed'),
             (1, 'odd-stale', 5, 5, now() - interval '1 minute', 'active')`);
  });
  afterAll(() => db.drop());

  it('--dry-run prints the SQL and changes nothing', async () => {
    const before = await catalogSnapshot(db.client, ['beckett', 'public', 'dbops']);
    const result = await runCli(['migrate', 'up', 'checkpoint', '--dry-run'], { url: db.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('CREATE TABLE checkpoints_ready');
    expect(result.stdout).toContain('FOR SHARE');
    expect(result.stdout).toContain('CREATE FUNCTION checkpoint_reserve_next');
    expect(await catalogSnapshot(db.client, ['beckett', 'public', 'dbops'])).toEqual(before);
  });

  it('up fills the hot tables by the rule from every state; down restores; up again', async () => {
    const before = await beckettBaseState(db.client);
    const up = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/checkpoint hot tables \(candidate checkpoints\): (\d+)\/\1/);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
    const placed = await placement(db);
    const count = (state: string) => placed[state]![0]!;
    expect(Object.keys(placed).sort()).toEqual(
      [
        'caught-up',
        'caught-up-stale-process-at',
        'deferred',
        'expired',
        'failed',
        'ready',
        'reserved',
        'retry-due',
        'retry-later',
      ].sort(),
    );
    for (const s of ['ready', 'deferred', 'retry-due', 'retry-later'])
      expect(placed[s], s).toEqual([count(s), count(s), 0]);
    for (const s of ['reserved', 'expired']) expect(placed[s], s).toEqual([count(s), 0, count(s)]);
    for (const s of ['failed', 'caught-up', 'caught-up-stale-process-at'])
      expect(placed[s], s).toEqual([count(s), 0, 0]);
    expect(count('ready')).toBeGreaterThan(400);
    // Beckett's own trigger function is untouched while the family is applied.
    const { rows } = await db.client.query(
      `SELECT prosrc FROM pg_proc WHERE proname = 'checkpoint_preprocessor'`,
    );
    expect(rows[0].prosrc).toBe(CHECKPOINT_PREPROCESSOR_BODY);

    const down = await runCli(['migrate', 'down', 'checkpoint', '--all'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(await beckettBaseState(db.client)).toEqual(before);

    const again = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
    const status = await runCli(['migrate', 'status', 'checkpoint', '--fail-on-pending'], {
      url: db.url,
    });
    expect(status.code, status.stdout).toBe(0);
  });

  it('inserts of lagging checkpoints and upserts of existing ones succeed; NOTIFY still fires', async () => {
    const listener = await db.connect();
    const notes: string[] = [];
    listener.on('notification', (n) => notes.push(`${n.channel}:${n.payload}`));
    await listener.query('LISTEN "beckett:checkpoints"');
    // A new lagging active checkpoint: 0.23.0 failed here (FK child written before the parent).
    const { rows: inserted } = await db.client.query(
      `INSERT INTO beckett.checkpoints (subscription_id, stream_name, stream_version)
       VALUES (2, 'fresh', 3) RETURNING id, process_at`,
    );
    expect(inserted[0].process_at).not.toBeNull();
    const { rows: ready } = await db.client.query(
      'SELECT process_at FROM beckett.checkpoints_ready WHERE id = $1',
      [inserted[0].id],
    );
    expect(ready[0].process_at).toEqual(inserted[0].process_at);
    // Beckett's record_checkpoints shape: a multi-row upsert over new, caught-up, reserved and
    // failed checkpoints.
    const { rows: picked } = await db.client.query(`
      (SELECT subscription_id, stream_name FROM beckett.checkpoints WHERE NOT lagging AND status = 'active' LIMIT 3)
      UNION ALL (SELECT subscription_id, stream_name FROM beckett.checkpoints WHERE reserved_until > now() LIMIT 3)
      UNION ALL (SELECT subscription_id, stream_name FROM beckett.checkpoints WHERE status = 'failed' LIMIT 2)`);
    await db.client.query(
      `INSERT INTO beckett.checkpoints AS c (subscription_id, stream_name, stream_version)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
       ON CONFLICT (subscription_id, stream_name) DO UPDATE SET stream_version = c.stream_version + 10`,
      [
        [...picked.map((p) => p.subscription_id), 3, 4],
        [...picked.map((p) => p.stream_name), 'fresh-a', 'fresh-b'],
        [...picked.map(() => 1), 7, 0],
      ],
    );
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
    const { rows: upserted } = await db.client.query(
      `SELECT count(*)::int AS n FROM beckett.checkpoints c JOIN beckett.checkpoints_ready r USING (id)
        WHERE (c.subscription_id, c.stream_name) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))`,
      [
        picked.slice(0, 3).map((p) => p.subscription_id),
        picked.slice(0, 3).map((p) => p.stream_name),
      ],
    );
    expect(upserted[0].n).toBe(3); // caught-up ones are lagging again, hence ready
    await new Promise((r) => setTimeout(r, 200));
    expect(notes).toContain('beckett:checkpoints:2');
    await listener.end();
  });

  it('a retry checkpoint keeps its ready row across unrelated updates', async () => {
    const { rows } = await db.client.query(
      `SELECT c.id, c.process_at FROM beckett.checkpoints c
        WHERE status = 'retry' AND process_at > now() AND reserved_until IS NULL LIMIT 1`,
    );
    const { id, process_at } = rows[0];
    const readyAt = async () =>
      (
        await db.client.query('SELECT process_at FROM beckett.checkpoints_ready WHERE id = $1', [
          id,
        ])
      ).rows[0]?.process_at;
    expect(await readyAt()).toEqual(process_at);
    await db.client.query(
      `UPDATE beckett.checkpoints SET retries = retries || '[{"note": "x"}]' WHERE id = $1`,
      [id],
    );
    await db.client.query(
      'UPDATE beckett.checkpoints SET stream_version = stream_version + 1 WHERE id = $1',
      [id],
    );
    await db.client.query(
      'UPDATE beckett.checkpoints SET stream_position = stream_version WHERE id = $1',
      [id],
    ); // no longer lagging: a retry is queued all the same
    await db.client.query('UPDATE beckett.checkpoints SET updated_at = now() WHERE id = $1', [id]);
    expect(await readyAt()).toEqual(process_at);
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });

  it('the functions drive the whole lifecycle and keep the hot tables exact', async () => {
    const c = db.client;
    const where = async (id: string) => {
      const { rows } = await c.query(
        `SELECT (SELECT process_at FROM beckett.checkpoints_ready WHERE id = $1) AS ready,
                (SELECT reserved_until FROM beckett.checkpoints_reserved WHERE id = $1) AS reserved,
                (SELECT row(status, stream_position, retry_attempts)::text FROM beckett.checkpoints WHERE id = $1) AS cp`,
        [id],
      );
      return rows[0];
    };
    // reserve: oldest due process_at of the group, out of ready into reserved.
    const { rows: oldest } = await c.query(`
      SELECT r.id FROM beckett.checkpoints_ready r JOIN beckett.checkpoints c USING (id)
        JOIN beckett.subscriptions s ON s.id = c.subscription_id
       WHERE s.subscription_group_id = 1 AND s.status = 'active' AND r.process_at <= now()
       ORDER BY r.process_at LIMIT 1`);
    const r1 = (await reserveNext(c, 'group-1', '1 minute'))!;
    expect(r1.id).toBe(oldest[0].id);
    expect(await where(r1.id)).toMatchObject({ ready: null, reserved: r1.reserved_until });
    // release: ready again, scheduled now (Beckett's release semantics for active checkpoints).
    expect((await c.query('SELECT beckett.checkpoint_release($1) AS ok', [r1.id])).rows[0].ok).toBe(
      true,
    );
    expect(await where(r1.id)).toMatchObject({ reserved: null });
    expect((await where(r1.id)).ready).not.toBeNull();
    // record error with retry later: status retry, ready at the retry time, not reservable yet.
    const r2 = (await reserveNext(c, 'group-1', '1 minute'))!;
    await c.query(
      `SELECT beckett.checkpoint_record_error($1, $2::bigint - 1, '{"message": "boom"}', now() + interval '1 hour', $3::timestamptz)`,
      [r2.id, r2.stream_version, r2.token],
    );
    const retried = await where(r2.id);
    expect(retried.reserved).toBeNull();
    expect(retried.ready.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expect(retried.cp).toMatch(/^\(retry,\d+,1\)$/);
    // a retry checkpoint released keeps its retry time (0.23-era release stranded it).
    await c.query(
      `UPDATE beckett.checkpoints SET process_at = now() - interval '30 days' WHERE id = $1`,
      [r2.id],
    ); // due, and the oldest of its group
    const r3 = (await reserveNext(c, 'group-1', '1 minute'))!;
    expect(r3.id).toBe(r2.id);
    await c.query('SELECT beckett.checkpoint_release($1, $2::timestamptz)', [r3.id, r3.token]);
    expect((await where(r3.id)).ready).not.toBeNull();
    // record success with a stale token is refused; with the right one the checkpoint is done.
    const r4 = (await reserveNext(c, 'group-1', '1 minute'))!;
    const stale = await c.query(
      `SELECT beckett.checkpoint_record_success($1, $2, NULL, now() - interval '1 day') AS ok`,
      [r4.id, r4.stream_version],
    );
    expect(stale.rows[0].ok).toBe(false);
    await c.query('SELECT beckett.checkpoint_record_success($1, $2, NULL, $3::timestamptz)', [
      r4.id,
      r4.stream_version,
      r4.token,
    ]);
    expect(await where(r4.id)).toMatchObject({ ready: null, reserved: null });
    expect((await where(r4.id)).cp).toMatch(/^\(active,\d+,0\)$/);
    // record error without a retry time: failed, in neither table.
    const r5 = (await reserveNext(c, 'group-1', '1 minute'))!;
    await c.query(`SELECT beckett.checkpoint_record_error($1, 0, '"fatal"', NULL)`, [r5.id]);
    expect(await where(r5.id)).toMatchObject({ ready: null, reserved: null });
    expect((await where(r5.id)).cp).toMatch(/^\(failed,0,1\)$/);
    // skip: past the poison message, active again, ready if still lagging.
    expect((await c.query('SELECT beckett.checkpoint_skip($1) AS n', [[r5.id]])).rows[0].n).toBe(1);
    expect((await where(r5.id)).cp).toMatch(/^\(active,1,0\)$/);
    // recover: an expired reservation goes back to ready with its old process_at.
    const r6 = (await reserveNext(c, 'group-2', '-1 second'))!;
    const { rows: recovered } = await c.query(
      `SELECT beckett.checkpoint_recover_expired('group-2', 100000) AS n`,
    );
    expect(recovered[0].n).toBeGreaterThan(1); // r6 and the seeded expired ones of group-2
    expect(await where(r6.id)).toMatchObject({ reserved: null });
    expect((await where(r6.id)).ready).not.toBeNull();
    const { rows: left } = await c.query(`
      SELECT count(*)::int AS n FROM beckett.checkpoints_reserved r JOIN beckett.checkpoints c USING (id)
        JOIN beckett.subscriptions s ON s.id = c.subscription_id
       WHERE s.subscription_group_id = 2 AND r.reserved_until <= now()`);
    expect(left[0].n).toBe(0);
    expect(await checkpointDrift(c)).toEqual(NO_DRIFT);
  });

  it('deleting a checkpoint or a whole subscription leaves no hot row behind', async () => {
    await db.client.query(
      `DELETE FROM beckett.checkpoints WHERE id IN (SELECT id FROM beckett.checkpoints_ready LIMIT 5)`,
    );
    await db.client.query('DELETE FROM beckett.subscriptions WHERE id = 3');
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });
});

describe('checkpoint refusals', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seededBeckett('checkpoint_errors', { groups: 1, subscriptions: 2, checkpoints: 50 });
  });
  afterAll(() => db.drop());

  it('a database without the Beckett base tables: exit 2, names what is missing, changes nothing', async () => {
    await db.client.query('ALTER TABLE beckett.checkpoints RENAME TO checkpoints_old');
    const before = await catalogSnapshot(db.client, ['public', 'beckett', 'dbops']);
    const result = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('table beckett.checkpoints is missing');
    expect(result.stderr).toContain('nothing was changed');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await catalogSnapshot(db.client, ['public', 'beckett', 'dbops'])).toEqual(before);
    expect((await db.client.query(`SELECT to_regnamespace('dbops') AS ns`)).rows[0].ns).toBeNull();
    await db.client.query('ALTER TABLE beckett.checkpoints_old RENAME TO checkpoints');
  });

  it('a leftover checkpoints_ready from an earlier upgrade is refused up front', async () => {
    await db.client.query('CREATE TABLE beckett.checkpoints_ready (id bigint PRIMARY KEY)');
    const before = await catalogSnapshot(db.client, ['public', 'beckett']);
    const result = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('checkpoints_ready already exists');
    expect(await catalogSnapshot(db.client, ['public', 'beckett'])).toEqual(before);
    await db.client.query('DROP TABLE beckett.checkpoints_ready');
  });
});

import { beckettBaseSchemaSql, seedBeckett } from '../../src/families/checkpoint/fixture.js';
import {
  checkpointDrift,
  RECORD_CHECKPOINTS_SQL,
  SUBSCRIPTION_DELETE_DEADLOCK,
} from '../../test/helpers/checkpoint.js';
import { type FamilyHarness, pickRow, relationExists } from '../lib/harness.js';
import { intIn } from '../lib/rng.js';

const RESERVED = `(SELECT * FROM beckett.checkpoints WHERE reserved_until IS NOT NULL) r`;

/**
 * Beckett, with its own SQL (what runs before and during the migration, and what the
 * application keeps running after it): record_checkpoints upserts, reserve (SKIP LOCKED),
 * complete, fail with a retry, fail for good, expiry and recovery, subscriptions added and
 * deleted (cascading to checkpoints and the hot tables).
 */
export const checkpointHarness: FamilyHarness = {
  name: 'checkpoint',
  schema: 'beckett',
  baseTables: ['beckett.subscription_groups', 'beckett.subscriptions', 'beckett.checkpoints'],
  resyncTargets: ['checkpoints'],
  appErrors: ['23503'],
  async setup(db) {
    await db.client.query(beckettBaseSchemaSql());
    await seedBeckett(db.client, { groups: 2, subscriptions: 3, checkpoints: 6000 });
  },
  ops: [
    {
      name: 'upsert',
      weight: 4,
      // Against delete-subscription of the subscription it inserts under while holding one of
      // its checkpoints: Beckett's own deadlock, either side can be the victim; only with the
      // exact wait, shown without dbops in test/integration/checkpoint-concurrency.test.ts.
      appErrors: [{ code: '40P01', where: SUBSCRIPTION_DELETE_DEADLOCK.upsert }],
      async run(c, rnd) {
        const s = await pickRow<{ id: string }>(c, rnd, 'beckett.subscriptions', 'id', 'id');
        const k = await pickRow<{ subscription_id: string; stream_name: string }>(
          c,
          rnd,
          'beckett.checkpoints',
          'subscription_id, stream_name',
          'id',
        );
        if (!s || !k) return;
        // One multi-row statement in key order, like Beckett's record_checkpoints.
        await c.query(RECORD_CHECKPOINTS_SQL, [
          s.id,
          k.subscription_id,
          intIn(rnd, 1, 5),
          k.stream_name,
        ]);
      },
    },
    {
      name: 'reserve',
      weight: 3,
      async run(c, rnd) {
        await c.query(
          `UPDATE beckett.checkpoints SET reserved_until = now() + $1 * interval '1 second'
            WHERE id = (SELECT id FROM beckett.checkpoints
                         WHERE process_at <= now() AND reserved_until IS NULL
                           AND (status = 'retry' OR (status = 'active' AND lagging))
                         ORDER BY process_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)`,
          [intIn(rnd, 1, 600)],
        );
      },
    },
    {
      name: 'complete',
      weight: 2,
      async run(c, rnd) {
        const r = await pickRow<{ id: string }>(c, rnd, RESERVED, 'id', 'id');
        if (r)
          await c.query(
            `UPDATE beckett.checkpoints SET stream_position = stream_version, process_at = NULL, reserved_until = NULL,
                    status = 'active', retry_attempts = 0, retries = NULL WHERE id = $1`,
            [r.id],
          );
      },
    },
    {
      name: 'fail-retry',
      async run(c, rnd) {
        const r = await pickRow<{ id: string }>(c, rnd, RESERVED, 'id', 'id');
        if (r)
          await c.query(
            `UPDATE beckett.checkpoints SET status = 'retry', process_at = now() + $2 * interval '1 ms',
                    reserved_until = NULL, retry_attempts = retry_attempts + 1 WHERE id = $1`,
            [r.id, intIn(rnd, 0, 500)],
          );
      },
    },
    {
      name: 'fail-final',
      weight: 0.3,
      async run(c, rnd) {
        const r = await pickRow<{ id: string }>(c, rnd, RESERVED, 'id', 'id');
        if (r)
          await c.query(
            `UPDATE beckett.checkpoints SET status = 'failed', process_at = NULL, reserved_until = NULL,
                    retry_attempts = retry_attempts + 1 WHERE id = $1`,
            [r.id],
          );
      },
    },
    {
      name: 'expire',
      weight: 0.5,
      async run(c, rnd) {
        const r = await pickRow<{ id: string }>(c, rnd, RESERVED, 'id', 'id');
        if (r)
          await c.query(
            `UPDATE beckett.checkpoints SET reserved_until = now() - interval '1 second' WHERE id = $1`,
            [r.id],
          );
      },
    },
    {
      name: 'recover-expired',
      weight: 0.5,
      async run(c) {
        await c.query(
          `UPDATE beckett.checkpoints SET reserved_until = NULL
            WHERE id IN (SELECT id FROM beckett.checkpoints WHERE reserved_until <= now()
                          ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)`,
        );
      },
    },
    {
      name: 'new-subscription',
      weight: 0.1,
      async run(c, rnd) {
        const g = await pickRow<{ id: string }>(c, rnd, 'beckett.subscription_groups', 'id', 'id');
        if (!g) return;
        const { rows } = await c.query(
          `INSERT INTO beckett.subscriptions (subscription_group_id, name, status) VALUES ($1, 'h-' || gen_random_uuid(), 'active')
           RETURNING id`,
          [g.id],
        );
        await c.query(
          `INSERT INTO beckett.checkpoints (subscription_id, stream_name, stream_version)
           SELECT $1, 's-' || g, 2 FROM generate_series(1, 20) g`,
          [rows[0].id],
        );
      },
    },
    {
      name: 'delete-subscription',
      weight: 0.05,
      // The other side of upsert's 40P01 (CI's smoke run, seed 374553415); a 40P01 raised
      // anywhere else in the cascade (e.g. in the hot tables') is still a finding.
      appErrors: [{ code: '40P01', where: SUBSCRIPTION_DELETE_DEADLOCK.delete }],
      async run(c, rnd) {
        const s = await pickRow<{ id: string }>(c, rnd, 'beckett.subscriptions', 'id', 'id');
        const { rows } = await c.query('SELECT count(*)::int AS n FROM beckett.subscriptions');
        if (s && rows[0].n > 2)
          await c.query('DELETE FROM beckett.subscriptions WHERE id = $1', [s.id]);
      },
    },
  ],
  async drift(c) {
    await c.query('DELETE FROM beckett.checkpoints_ready WHERE random() < 0.3');
    await c.query('DELETE FROM beckett.checkpoints_reserved WHERE random() < 0.3');
  },
  async oracle(c) {
    if (!(await relationExists(c, 'beckett.checkpoints_ready')))
      return { always: {}, afterResync: {} };
    const { stranded: _stranded, ...d } = await checkpointDrift(c);
    return { always: d, afterResync: {} };
  },
};

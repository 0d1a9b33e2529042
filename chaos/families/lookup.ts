import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { counts, type Drift, type FamilyHarness, pickRow, relationExists } from '../lib/harness.js';
import { intIn } from '../lib/rng.js';

const PARTITIONS = 'queen.partitions';

/**
 * Queen: pushes of 1-50 messages (now, or back-dated), pushes over several partitions in one
 * statement, retention deletes (oldest messages, and a partition's newest one), partitions
 * created and deleted (cascading to messages and the lookup row).
 */
export const lookupHarness: FamilyHarness = {
  name: 'lookup',
  schema: 'queen',
  baseTables: ['queen.queues', 'queen.partitions', 'queen.messages', 'queen.partition_consumers'],
  resyncTargets: ['partition-lookup'],
  appErrors: ['23503'],
  async setup(db) {
    await db.client.query(queenBaseSchemaSql());
    await seedQueen(db.client, { queues: 5, partitions: 300, messages: 6000 });
  },
  ops: [
    {
      name: 'push',
      weight: 5,
      async run(c, rnd) {
        const p = await pickRow<{ id: string }>(c, rnd, PARTITIONS, 'id', 'id');
        if (!p) return;
        const backMinutes = rnd() < 0.2 ? intIn(rnd, 1, 60 * 24 * 40) : 0;
        await c.query(
          `INSERT INTO queen.messages (transaction_id, partition_id, payload, created_at)
           SELECT 'h-' || gen_random_uuid(), $1, jsonb_build_object('g', g),
                  date_trunc('second', now()) - $3 * interval '1 minute'
             FROM generate_series(1, $2) g`,
          [p.id, intIn(rnd, 1, 50), backMinutes],
        );
      },
    },
    {
      name: 'push-many-partitions',
      weight: 2,
      async run(c, rnd) {
        const ids: string[] = [];
        for (let i = intIn(rnd, 2, 5); i > 0; i--) {
          const p = await pickRow<{ id: string }>(c, rnd, PARTITIONS, 'id', 'id');
          if (p) ids.push(p.id);
        }
        await c.query(
          `INSERT INTO queen.messages (transaction_id, partition_id, payload)
           SELECT 'h-' || gen_random_uuid(), p, '{}'::jsonb FROM unnest($1::uuid[]) p, generate_series(1, 3)`,
          [ids],
        );
      },
    },
    {
      name: 'retention-oldest',
      async run(c, rnd) {
        const p = await pickRow<{ id: string }>(c, rnd, PARTITIONS, 'id', 'id');
        if (!p) return;
        await c.query(
          `DELETE FROM queen.messages WHERE id IN (
             SELECT id FROM queen.messages WHERE partition_id = $1 ORDER BY created_at, id LIMIT $2)`,
          [p.id, intIn(rnd, 1, 20)],
        );
      },
    },
    {
      name: 'retention-newest',
      async run(c, rnd) {
        const p = await pickRow<{ id: string }>(c, rnd, PARTITIONS, 'id', 'id');
        if (!p) return;
        await c.query(
          `DELETE FROM queen.messages WHERE id = (
             SELECT id FROM queen.messages WHERE partition_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)`,
          [p.id],
        );
      },
    },
    {
      name: 'new-partition',
      weight: 0.5,
      async run(c, rnd) {
        const q = await pickRow<{ id: string }>(c, rnd, 'queen.queues', 'id', 'id');
        if (!q) return;
        const { rows } = await c.query(
          `INSERT INTO queen.partitions (queue_id, name) VALUES ($1, 'h-' || gen_random_uuid()) RETURNING id`,
          [q.id],
        );
        await c.query(
          `INSERT INTO queen.messages (transaction_id, partition_id, payload)
           SELECT 'h-' || gen_random_uuid(), $1, '{}'::jsonb FROM generate_series(1, $2)`,
          [rows[0].id, intIn(rnd, 1, 10)],
        );
      },
    },
    {
      name: 'delete-partition',
      weight: 0.3,
      async run(c, rnd) {
        const p = await pickRow<{ id: string }>(c, rnd, PARTITIONS, 'id', 'id');
        if (p) await c.query('DELETE FROM queen.partitions WHERE id = $1', [p.id]);
      },
    },
  ],
  async drift(c) {
    await c.query('DELETE FROM queen.partition_lookup WHERE random() < 0.3');
    await c.query(
      `UPDATE queen.partition_lookup SET last_message_created_at = last_message_created_at - interval '1 day'
        WHERE random() < 0.2`,
    );
  },
  async oracle(c): Promise<{ always: Drift; afterResync: Drift }> {
    if (!(await relationExists(c, 'queen.partition_lookup')))
      return { always: {}, afterResync: {} };
    // The newest message per partition by DISTINCT ON over all messages (dbops uses LATERAL).
    const d = await counts(
      c,
      `WITH truth AS (
         SELECT DISTINCT ON (m.partition_id) m.partition_id, m.id, m.created_at, q.name AS queue_name
           FROM queen.messages m JOIN queen.partitions p ON p.id = m.partition_id
           JOIN queen.queues q ON q.id = p.queue_id
          ORDER BY m.partition_id, m.created_at DESC, m.id DESC)
       SELECT count(*) FILTER (WHERE pl.partition_id IS NULL) AS missing,
              count(*) FILTER (WHERE pl.partition_id IS NOT NULL AND t.partition_id IS NOT NULL
                                 AND (pl.last_message_created_at, pl.last_message_id) < (t.created_at, t.id)) AS behind,
              count(*) FILTER (WHERE t.partition_id IS NULL OR pl.last_message_id <> t.id
                                  OR pl.last_message_created_at <> t.created_at OR pl.queue_name <> t.queue_name) AS wrong
         FROM truth t FULL JOIN queen.partition_lookup pl ON pl.partition_id = t.partition_id`,
    );
    return { always: { missing: d.missing!, behind: d.behind! }, afterResync: { wrong: d.wrong! } };
  },
};

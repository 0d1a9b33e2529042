/**
 * `dbops migrate up lookup` on a big Queen database while a writer keeps inserting: migration
 * time, the writer's longest statement during the migration (how long it was blocked) next to
 * its longest statement in the same time before the migration, and an independent check that
 * the lookup is exact afterwards.
 *
 *   npm run build && node dist/bench/online-lookup.js [messages=1000000] [partitions=10000]
 */
import type pg from 'pg';
import { queenBaseSchemaSql, seedQueen } from '../src/families/lookup/fixture.js';
import { runDbops } from './lib/cli.js';
import { createBenchDatabase } from './lib/db.js';
import { startWriter } from './lib/writer.js';

const messages = Number(process.argv[2] ?? 1_000_000);
const partitions = Number(process.argv[3] ?? 10_000);

/** 10 messages into random partitions, created now: what a Queen push looks like. */
function pushTen(ids: string[]) {
  return (c: pg.Client) =>
    c.query(
      `INSERT INTO queen.messages (transaction_id, partition_id, payload)
       SELECT 'bench-' || gen_random_uuid(), p, '{}'::jsonb FROM unnest($1::uuid[]) p`,
      [Array.from({ length: 10 }, () => ids[Math.floor(Math.random() * ids.length)])],
    );
}

const db = await createBenchDatabase('online_lookup');
try {
  await db.client.query(queenBaseSchemaSql());
  let t = performance.now();
  await seedQueen(db.client, { queues: 100, partitions, messages });
  await db.client.query('VACUUM ANALYZE');
  console.log(
    `seeded ${messages} messages over ${partitions} partitions in ${Math.round(performance.now() - t)} ms`,
  );
  const ids = (await db.client.query<{ id: string }>('SELECT id FROM queen.partitions')).rows.map(
    (r) => r.id,
  );

  const writerClient = await db.connect();
  const before = startWriter(writerClient, pushTen(ids));
  await new Promise((r) => setTimeout(r, 3000));
  const baseline = await before.stop();

  const during = startWriter(writerClient, pushTen(ids));
  t = performance.now();
  const run = await runDbops(['migrate', 'up', 'lookup'], db.url);
  const migrateMs = Math.round(performance.now() - t);
  const stats = await during.stop();
  await writerClient.end();
  if (run.code !== 0) throw new Error(`migrate up failed (${run.code}): ${run.stderr}`);

  const { rows } = await db.client.query(`
    WITH truth AS (
      SELECT DISTINCT ON (m.partition_id) m.partition_id, m.id, m.created_at
        FROM queen.messages m WHERE m.created_at IS NOT NULL
       ORDER BY m.partition_id, m.created_at DESC, m.id DESC)
    SELECT count(*)::int AS drift FROM truth t
      FULL JOIN queen.partition_lookup pl ON pl.partition_id = t.partition_id
     WHERE t.partition_id IS NULL OR pl.partition_id IS NULL OR pl.last_message_id <> t.id`);
  console.log(
    JSON.stringify(
      { migrateMs, writerBefore3s: baseline, writerDuringMigration: stats, drift: rows[0].drift },
      null,
      2,
    ),
  );
} finally {
  await db.drop();
}

import type pg from 'pg';
import { quoteIdent } from '../../db/ident.js';

/**
 * Queen's base schema (the state before the lookup family), as described in UPSTREAM.md.
 * Used by the demo, the tests and the bench. `schema` defaults to queen.
 */
export function queenBaseSchemaSql(schema = 'queen'): string {
  const s = quoteIdent(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE ${s}.queues (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name varchar(255) UNIQUE NOT NULL,
  namespace varchar(255),
  task varchar(255),
  priority int DEFAULT 0,
  lease_time int DEFAULT 300,
  retry_limit int DEFAULT 3,
  window_buffer int DEFAULT 0,
  created_at timestamptz DEFAULT now()
);
CREATE TABLE ${s}.partitions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  queue_id uuid REFERENCES ${s}.queues (id) ON DELETE CASCADE,
  name varchar(255) NOT NULL DEFAULT 'Default',
  created_at timestamptz DEFAULT now(),
  last_activity timestamptz,
  UNIQUE (queue_id, name)
);
CREATE TABLE ${s}.messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  transaction_id varchar(255) NOT NULL,
  trace_id uuid,
  partition_id uuid REFERENCES ${s}.partitions (id) ON DELETE CASCADE,
  payload jsonb NOT NULL,
  created_at timestamptz DEFAULT now(),
  is_encrypted boolean DEFAULT false,
  UNIQUE (partition_id, transaction_id)
);
CREATE INDEX idx_messages_partition_created_id ON ${s}.messages (partition_id, created_at, id);
CREATE TABLE ${s}.partition_consumers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  partition_id uuid REFERENCES ${s}.partitions (id) ON DELETE CASCADE,
  consumer_group varchar(255) DEFAULT '__QUEUE_MODE__',
  last_consumed_id uuid DEFAULT '00000000-0000-0000-0000-000000000000',
  last_consumed_created_at timestamptz,
  last_consumed_at timestamptz,
  lease_expires_at timestamptz,
  lease_acquired_at timestamptz,
  worker_id varchar(255),
  batch_size int,
  acked_count int DEFAULT 0,
  created_at timestamptz DEFAULT now(),
  UNIQUE (partition_id, consumer_group)
);`;
}

export interface QueenSize {
  queues: number;
  partitions: number;
  messages: number;
}

/**
 * Realistic Queen data: partitions spread over queues, messages skewed towards a few hot
 * partitions, created_at at minute granularity over 30 days in random (not insertion) order, so
 * equal timestamps are common and the newest message is often decided by id. Deterministic for
 * a given seed.
 */
export async function seedQueen(
  client: pg.ClientBase,
  size: QueenSize,
  schema = 'queen',
  seed = 0.42,
): Promise<void> {
  const s = quoteIdent(schema);
  await client.query('SELECT setseed($1)', [seed]);
  await client.query(
    `INSERT INTO ${s}.queues (name) SELECT 'queue-' || g FROM generate_series(1, $1) g`,
    [size.queues],
  );
  await client.query(
    `INSERT INTO ${s}.partitions (queue_id, name)
     SELECT q.ids[1 + (g % array_length(q.ids, 1))], 'partition-' || g
       FROM generate_series(1, $1) g, (SELECT array_agg(id ORDER BY name) AS ids FROM ${s}.queues) q`,
    [size.partitions],
  );
  await insertQueenMessages(client, size.messages, schema, 'seed');
}

/** Inserts `count` messages over all partitions (hot partitions first), in one statement. */
export async function insertQueenMessages(
  client: pg.ClientBase,
  count: number,
  schema = 'queen',
  tag = 'm',
): Promise<void> {
  const s = quoteIdent(schema);
  await client.query(
    `INSERT INTO ${s}.messages (transaction_id, partition_id, payload, created_at)
     SELECT $2 || '-' || g || '-' || gen_random_uuid(),
            p.ids[1 + floor(array_length(p.ids, 1) * power(random(), 2))::int],
            jsonb_build_object('n', g),
            timestamptz '2026-01-01' + floor(random() * 43200) * interval '1 minute'
       FROM generate_series(1, $1) g, (SELECT array_agg(id ORDER BY id) AS ids FROM ${s}.partitions) p`,
    [count, tag],
  );
}

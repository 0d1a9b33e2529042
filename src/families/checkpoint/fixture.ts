import type pg from 'pg';
import { quoteIdent } from '../../db/ident.js';

/**
 * Body of Beckett's `checkpoint_preprocessor()` as of 0.22.0 (the state before the checkpoint
 * family), verbatim. The checkpoint family leaves it untouched; `down` must leave it exactly so.
 */
export const CHECKPOINT_PREPROCESSOR_BODY = `
BEGIN
  IF (TG_OP = 'UPDATE') THEN
    NEW.updated_at = now();
  END IF;

  IF (NEW.status = 'active' AND NEW.process_at IS NULL AND NEW.stream_version > NEW.stream_position) THEN
    NEW.process_at = now();
  END IF;

  IF (NEW.process_at IS NOT NULL AND NEW.reserved_until IS NULL) THEN
    PERFORM pg_notify('beckett:checkpoints', NEW.subscription_id::text);
  END IF;

  RETURN NEW;
END;
`;

/**
 * Beckett's base schema (0.22.0, the state before the checkpoint family), as described in
 * UPSTREAM.md: enums, subscription_groups, subscriptions, checkpoints with the generated `lagging`
 * column, 0.22.0's indexes on checkpoints, and the BEFORE INSERT OR UPDATE row trigger
 * `checkpoint_preprocessor`. `schema` defaults to beckett.
 */
export function beckettBaseSchemaSql(schema = 'beckett'): string {
  const s = quoteIdent(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TYPE ${s}.checkpoint_status AS ENUM ('active', 'retry', 'failed');
CREATE TYPE ${s}.subscription_status AS ENUM
  ('uninitialized', 'active', 'paused', 'unknown', 'replay', 'backfill');
CREATE TABLE ${s}.subscription_groups (
  id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL UNIQUE
);
CREATE TABLE ${s}.subscriptions (
  id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  subscription_group_id bigint NOT NULL
    REFERENCES ${s}.subscription_groups (id) ON DELETE CASCADE,
  name text NOT NULL,
  status ${s}.subscription_status NOT NULL DEFAULT 'uninitialized',
  replay_target_position bigint,
  UNIQUE (subscription_group_id, name)
);
CREATE TABLE ${s}.checkpoints (
  id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  subscription_id bigint NOT NULL REFERENCES ${s}.subscriptions (id) ON DELETE CASCADE,
  stream_name text NOT NULL,
  stream_version bigint NOT NULL DEFAULT 0,
  stream_position bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  process_at timestamptz,
  reserved_until timestamptz,
  retry_attempts int NOT NULL DEFAULT 0,
  lagging boolean GENERATED ALWAYS AS (stream_version > stream_position) STORED,
  status ${s}.checkpoint_status NOT NULL DEFAULT 'active',
  retries jsonb,
  UNIQUE (subscription_id, stream_name)
);
CREATE INDEX ix_checkpoints_to_process ON ${s}.checkpoints (subscription_id, process_at, reserved_until)
  WHERE process_at IS NOT NULL AND reserved_until IS NULL;
CREATE INDEX ix_checkpoints_reserved ON ${s}.checkpoints (subscription_id, reserved_until)
  WHERE reserved_until IS NULL;
CREATE INDEX ix_checkpoints_metrics ON ${s}.checkpoints (status, lagging, subscription_id);
CREATE INDEX ix_checkpoints_subscription_id ON ${s}.checkpoints (subscription_id);
CREATE FUNCTION ${s}.checkpoint_preprocessor() RETURNS trigger
LANGUAGE plpgsql
AS $fn$${CHECKPOINT_PREPROCESSOR_BODY}$fn$;
CREATE TRIGGER checkpoint_preprocessor BEFORE INSERT OR UPDATE ON ${s}.checkpoints
  FOR EACH ROW EXECUTE FUNCTION ${s}.checkpoint_preprocessor();`;
}

export interface BeckettSize {
  groups: number;
  /** Subscriptions per group. */
  subscriptions: number;
  checkpoints: number;
  /** Share of checkpoints that are active, lagging and due (ready to reserve). Default 0.1. */
  readyShare?: number;
  /** Pause the last subscription of each group (when it has more than one). Default true. */
  pauseOne?: boolean;
}

/**
 * Realistic Beckett data, every checkpoint state represented, deterministic for a given seed.
 * Checkpoints go round-robin over subscriptions (all `active`, except the last subscription of
 * each group, `paused`, unless `pauseOne` is false). States by share of checkpoints:
 * - `readyShare` active and lagging, process_at in the past (due);
 * - 1% retry, process_at in the future (scheduled retry); 0.5% retry already due;
 * - 0.5% failed (process_at NULL, as Beckett records a final failure);
 * - 0.5% reserved until the future (in flight); 0.5% reserved with reserved_until in the past
 *   (an expired reservation, recoverable);
 * - 0.5% active, lagging, but process_at in the future (deferred);
 * - the rest caught up: stream_position = stream_version, process_at NULL.
 * The state is chosen by a hash of the row number, so it is spread over ids, not clustered.
 */
export async function seedBeckett(
  client: pg.ClientBase,
  size: BeckettSize,
  schema = 'beckett',
  seed = 0.42,
): Promise<void> {
  const s = quoteIdent(schema);
  await client.query('SELECT setseed($1)', [seed]);
  await client.query(
    `INSERT INTO ${s}.subscription_groups (name) SELECT 'group-' || g FROM generate_series(1, $1) g`,
    [size.groups],
  );
  await client.query(
    `INSERT INTO ${s}.subscriptions (subscription_group_id, name, status)
     SELECT g.id, 'subscription-' || n,
            CASE WHEN n = $1 AND $1 > 1 AND $2 THEN 'paused' ELSE 'active' END::${s}.subscription_status
       FROM ${s}.subscription_groups g, generate_series(1, $1) n
      ORDER BY g.id, n`,
    [size.subscriptions, size.pauseOne ?? true],
  );
  await insertBeckettCheckpoints(client, size.checkpoints, size.readyShare ?? 0.1, schema, 'seed');
}

/**
 * Inserts `count` checkpoints in the state mix described at seedBeckett, over all subscriptions,
 * in one statement. `tag` keeps stream names unique between calls.
 */
export async function insertBeckettCheckpoints(
  client: pg.ClientBase,
  count: number,
  readyShare: number,
  schema = 'beckett',
  tag = 'c',
): Promise<void> {
  const s = quoteIdent(schema);
  await client.query(
    `WITH subs AS (SELECT array_agg(id ORDER BY id) AS ids FROM ${s}.subscriptions),
     rows AS (
       SELECT g, subs.ids[1 + (g % array_length(subs.ids, 1))] AS subscription_id,
              (abs(hashint4(g)::bigint) % 100000) / 100000.0 AS r,
              1 + floor(random() * 50)::bigint AS version,
              floor(random() * 86400) * interval '1 second' AS jitter
         FROM generate_series(1, $1::int) g, subs)
     INSERT INTO ${s}.checkpoints
            (subscription_id, stream_name, stream_version, stream_position, process_at,
             reserved_until, status, retry_attempts, retries)
     SELECT subscription_id, $3 || '-stream-' || g, version,
            CASE WHEN st IN ('ready', 'retry-later', 'retry-due', 'failed', 'deferred',
                             'reserved', 'expired') THEN version - 1 ELSE version END,
            CASE st WHEN 'ready' THEN now() - jitter
                    WHEN 'retry-later' THEN now() + interval '1 hour' + jitter
                    WHEN 'retry-due' THEN now() - jitter
                    WHEN 'deferred' THEN now() + interval '1 day' + jitter
                    WHEN 'reserved' THEN now() - jitter
                    WHEN 'expired' THEN now() - interval '1 day' - jitter END,
            CASE st WHEN 'reserved' THEN now() + interval '1 hour' + jitter
                    WHEN 'expired' THEN now() - jitter END,
            CASE WHEN st LIKE 'retry%' THEN 'retry' WHEN st = 'failed' THEN 'failed'
                 ELSE 'active' END::${s}.checkpoint_status,
            CASE WHEN st LIKE 'retry%' OR st = 'failed' THEN 1 + (g % 3) ELSE 0 END,
            CASE WHEN st LIKE 'retry%' OR st = 'failed'
                 THEN jsonb_build_array(jsonb_build_object('attempt', 1, 'error', 'boom')) END
       FROM (SELECT rows.*,
                    CASE WHEN r < $2 THEN 'ready'
                         WHEN r < $2 + 0.010 THEN 'retry-later'
                         WHEN r < $2 + 0.015 THEN 'retry-due'
                         WHEN r < $2 + 0.020 THEN 'failed'
                         WHEN r < $2 + 0.025 THEN 'reserved'
                         WHEN r < $2 + 0.030 THEN 'expired'
                         WHEN r < $2 + 0.035 THEN 'deferred'
                         ELSE 'caught-up' END AS st
               FROM rows) x
      ORDER BY g`,
    [count, readyShare, tag],
  );
}

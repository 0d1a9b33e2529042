import type pg from 'pg';
import {
  type BeckettSize,
  beckettBaseSchemaSql,
  seedBeckett,
} from '../../src/families/checkpoint/fixture.js';
import { catalogSnapshot, createTestDatabase, type TestDatabase, tableChecksum } from './db.js';

export const BECKETT_BASE_TABLES = [
  'beckett.subscription_groups',
  'beckett.subscriptions',
  'beckett.checkpoints',
];

/** Catalog of the beckett schema and every row of its base tables. */
export async function beckettBaseState(
  client: pg.ClientBase,
): Promise<{ catalog: string[]; rows: string[] }> {
  const rows = [];
  for (const t of BECKETT_BASE_TABLES) rows.push(await tableChecksum(client, t));
  return { catalog: await catalogSnapshot(client, ['beckett']), rows };
}

export async function seededBeckett(label: string, size: BeckettSize): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  await db.client.query(beckettBaseSchemaSql());
  await seedBeckett(db.client, size);
  return db;
}

/** How far the hot tables are from the rule; every field is 0 when they are exact. */
export interface CheckpointDrift {
  readyMissing: number;
  readyExtra: number;
  reservedMissing: number;
  reservedExtra: number;
  both: number;
  /** Checkpoints that need processing but can never become ready (no process_at, not reserved). */
  stranded: number;
}

export const NO_DRIFT: CheckpointDrift = {
  readyMissing: 0,
  readyExtra: 0,
  reservedMissing: 0,
  reservedExtra: 0,
  both: 0,
  stranded: 0,
};

/**
 * Compares the hot tables with the family's rule, written here independently of dbops' SQL (the
 * rule as the README states it), so a wrong checkpoint_is_ready() fails the tests.
 */
export async function checkpointDrift(client: pg.ClientBase): Promise<CheckpointDrift> {
  const { rows } = await client.query(`
    WITH truth AS (
      SELECT id, process_at, reserved_until,
             process_at IS NOT NULL AND reserved_until IS NULL
               AND (status = 'retry' OR (status = 'active' AND stream_version > stream_position))
               AS ready
        FROM beckett.checkpoints)
    SELECT
      (SELECT count(*) FROM truth t WHERE t.ready
          AND NOT EXISTS (SELECT 1 FROM beckett.checkpoints_ready r WHERE r.id = t.id))::int
        AS "readyMissing",
      (SELECT count(*) FROM beckett.checkpoints_ready r LEFT JOIN truth t ON t.id = r.id
        WHERE t.id IS NULL OR NOT t.ready OR t.process_at <> r.process_at)::int AS "readyExtra",
      (SELECT count(*) FROM truth t WHERE t.reserved_until IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM beckett.checkpoints_reserved r WHERE r.id = t.id))::int
        AS "reservedMissing",
      (SELECT count(*) FROM beckett.checkpoints_reserved r LEFT JOIN truth t ON t.id = r.id
        WHERE t.id IS NULL OR t.reserved_until IS DISTINCT FROM r.reserved_until)::int
        AS "reservedExtra",
      (SELECT count(*) FROM beckett.checkpoints_ready
         JOIN beckett.checkpoints_reserved USING (id))::int AS both,
      (SELECT count(*) FROM beckett.checkpoints
        WHERE (status = 'retry' OR (status = 'active' AND stream_version > stream_position))
          AND process_at IS NULL AND reserved_until IS NULL)::int AS stranded`);
  return rows[0] as CheckpointDrift;
}

/** A reservation as checkpoint_reserve_next returns it. */
export interface Reservation {
  id: string;
  stream_version: string;
  reserved_until: Date;
  /** reserved_until as text, exact to the microsecond: the token to pass back. */
  token: string;
}

export async function reserveNext(
  client: pg.ClientBase,
  group: string,
  timeout: string,
): Promise<Reservation | undefined> {
  const { rows } = await client.query(
    `SELECT id, stream_version, reserved_until, reserved_until::text AS token
       FROM beckett.checkpoint_reserve_next($1, $2::interval)`,
    [group, timeout],
  );
  return rows[0] as Reservation | undefined;
}

/**
 * Beckett's record_checkpoints as the chaos harness runs it: one multi-row upsert in key order,
 * here of a new stream (subscription $1, version $3) and an existing one (subscription $2, stream
 * $4), whose stream_version goes up by 1.
 */
export const RECORD_CHECKPOINTS_SQL = `
INSERT INTO beckett.checkpoints AS c (subscription_id, stream_name, stream_version)
SELECT * FROM (VALUES ($1::bigint, 'h-' || gen_random_uuid(), $3::bigint), ($2::bigint, $4::text, 1)) v
 ORDER BY 1, 2
ON CONFLICT (subscription_id, stream_name) DO UPDATE SET stream_version = c.stream_version + EXCLUDED.stream_version`;

/**
 * Beckett's own deadlock, the same with and without dbops (test/integration/
 * checkpoint-concurrency.test.ts): a transaction that holds the row lock of a checkpoint of
 * subscription S (its record_checkpoints upsert updated it) and inserts a new checkpoint under S,
 * against `DELETE FROM subscriptions` of S. The insert's foreign key check wants KEY SHARE on S
 * (at the end of its statement), which the delete holds; the delete's ON DELETE CASCADE wants the
 * checkpoint. Either one can be the victim (the one whose deadlock check first finds the cycle);
 * the error's context (`where`) says which of the two locks it was waiting for, exactly:
 */
export const SUBSCRIPTION_DELETE_DEADLOCK = {
  /** The upsert, waiting in its foreign key check for the subscription the delete holds. */
  upsert:
    /^(?:while locking tuple \(\d+,\d+\) in relation "subscriptions"\n)?SQL statement "SELECT 1 FROM ONLY "beckett"\."subscriptions" x WHERE "id" OPERATOR\(pg_catalog\.=\) \$1 FOR KEY SHARE OF x"$/,
  /** The delete, waiting in its cascade to checkpoints for the checkpoint the upsert holds. */
  delete:
    /^(?:while deleting tuple \(\d+,\d+\) in relation "checkpoints"\n)?SQL statement "DELETE FROM ONLY "beckett"\."checkpoints" WHERE \$1 OPERATOR\(pg_catalog\.=\) "subscription_id""$/,
};

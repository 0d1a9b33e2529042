import type pg from 'pg';
import type { TestDatabase } from './db.js';

/**
 * Beckett's own statements (src/Beckett/Subscriptions/Queries at the commit each real fixture
 * was rebuilt from), for the two ways real Beckett keys checkpoints: the
 * checkpoint-optimizations branch by subscription_id, released v0.21.x by (group_name, name).
 * They are run unchanged against the hot-table family to show it does not break Beckett.
 */
export type Keying = 'id' | 'names';

export const REAL_CHECKPOINT_FIXTURES: { file: string; keying: Keying; groups: string[] }[] = [
  { file: 'checkpoint_real.sql', keying: 'id', groups: ['group-1', 'group-2', 'group-3'] },
  { file: 'checkpoint_real_v021.sql', keying: 'names', groups: ['group-1', 'group-2'] },
];

/** More checkpoints (about 10% lagging, i.e. ready), written as Beckett writes them. */
export async function addCheckpoints(client: pg.ClientBase, keying: Keying, n: number) {
  const key =
    keying === 'id'
      ? { cols: 'subscription_id', vals: 's.id', from: 'beckett.subscriptions s' }
      : { cols: 'group_name, name', vals: 's.group_name, s.name', from: 'beckett.subscriptions s' };
  await client.query(
    `INSERT INTO beckett.checkpoints (${key.cols}, stream_name, stream_version, stream_position)
     SELECT ${key.vals}, 'Extra-' || g, 20, CASE WHEN g % 10 = 0 THEN 15 ELSE 20 END
       FROM generate_series(1, $1::int) g
       JOIN LATERAL (SELECT * FROM ${key.from} ORDER BY 1, 2 OFFSET g % (SELECT count(*) FROM ${key.from}) LIMIT 1) s ON true`,
    [n],
  );
}

/** RecordCheckpoints: the upsert of one checkpoint's stream_version. */
function upsertSql(keying: Keying): string {
  return keying === 'id'
    ? `INSERT INTO beckett.checkpoints (stream_version, stream_position, subscription_id, stream_name)
       SELECT $1::bigint, 0, s.id, $2 FROM beckett.subscriptions s ORDER BY s.id OFFSET $3 LIMIT 1
       ON CONFLICT (subscription_id, stream_name) DO UPDATE SET stream_version = excluded.stream_version`
    : `INSERT INTO beckett.checkpoints (stream_version, stream_position, group_name, name, stream_name)
       SELECT $1::bigint, 0, s.group_name, s.name, $2 FROM beckett.subscriptions s ORDER BY 1, 2 OFFSET $3 LIMIT 1
       ON CONFLICT (group_name, name, stream_name) DO UPDATE SET stream_version = excluded.stream_version`;
}

/** ReserveNextAvailableCheckpoint, as Beckett ran it before the hot tables (on checkpoints). */
function reserveSql(keying: Keying): string {
  const join =
    keying === 'id'
      ? `JOIN beckett.subscriptions s ON s.id = c.subscription_id
         JOIN beckett.subscription_groups g ON g.id = s.subscription_group_id
        WHERE g.name = $1`
      : `JOIN beckett.subscriptions s ON c.group_name = s.group_name AND c.name = s.name
        WHERE c.group_name = $1`;
  return `
    UPDATE beckett.checkpoints c SET reserved_until = now() + interval '5 minutes'
      FROM (SELECT c.id FROM beckett.checkpoints c ${join}
               AND c.process_at <= now() AND c.reserved_until IS NULL
               AND (s.status = 'active' OR s.status = 'replay')
             ORDER BY c.process_at LIMIT 1 FOR UPDATE SKIP LOCKED) d
     WHERE c.id = d.id
    RETURNING c.id, c.stream_version, c.retry_attempts`;
}

/** UpdateCheckpointPosition: success. */
const COMPLETE = `
  UPDATE beckett.checkpoints SET stream_position = $2, process_at = NULL, reserved_until = NULL,
         status = 'active', retry_attempts = 0, retries = NULL
   WHERE id = $1`;

/** RecordCheckpointError: appends a beckett.retry entry and schedules the retry. */
const FAIL = `
  UPDATE beckett.checkpoints
     SET stream_position = $2, process_at = now() + interval '1 minute', reserved_until = NULL,
         status = 'retry', retry_attempts = $3,
         retries = array_append(coalesce(retries, array[]::beckett.retry[]),
                                row($3, $4::jsonb, now())::beckett.retry)
   WHERE id = $1`;

export interface WriterStats {
  upserts: number;
  reserved: number;
  completed: number;
  failed: number;
  errors: string[];
}

/**
 * `count` Beckett workers on their own connections until stop() is called: each upserts a
 * checkpoint (new or a version bump), reserves the next one of a group, and completes it or
 * records an error with a retry entry (every third). Every error is collected, none thrown.
 */
export function startBeckettWriters(
  db: TestDatabase,
  keying: Keying,
  groups: string[],
  count: number,
): { stop: () => Promise<WriterStats> } {
  const stats: WriterStats = { upserts: 0, reserved: 0, completed: 0, failed: 0, errors: [] };
  let running = true;
  const worker = async (w: number) => {
    const client = await db.connect();
    try {
      for (let i = 0; running; i++) {
        try {
          await client.query(upsertSql(keying), [30 + i, `Live-${w}-${i % 50}`, i % 6]);
          stats.upserts += 1;
          const { rows } = await client.query(reserveSql(keying), [groups[i % groups.length]]);
          const cp = rows[0];
          if (!cp) continue;
          stats.reserved += 1;
          if (i % 3 === 0) {
            const error = JSON.stringify({ type: 'Test', message: `worker ${w}` });
            await client.query(FAIL, [cp.id, cp.stream_version - 1, cp.retry_attempts + 1, error]);
            stats.failed += 1;
          } else {
            await client.query(COMPLETE, [cp.id, cp.stream_version]);
            stats.completed += 1;
          }
        } catch (err) {
          stats.errors.push((err as Error).message);
        }
      }
    } finally {
      await client.end();
    }
  };
  const workers = Array.from({ length: count }, (_, w) => worker(w));
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return stats;
    },
  };
}

/**
 * `reservers` connections call checkpoint_reserve_next for every group until none returns a
 * row; returns every checkpoint id handed out (a double reservation shows as a repeated id).
 */
export async function reserveAllConcurrently(
  db: TestDatabase,
  groups: string[],
  reservers: number,
): Promise<string[]> {
  const ids: string[] = [];
  const one = async () => {
    const client = await db.connect();
    try {
      for (const group of groups) {
        for (;;) {
          const { rows } = await client.query(
            "SELECT id FROM beckett.checkpoint_reserve_next($1, interval '10 minutes')",
            [group],
          );
          if (rows.length === 0) break;
          ids.push(String(rows[0].id));
        }
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all(Array.from({ length: reservers }, one));
  return ids;
}

/**
 * Beckett's error recording through the family's checkpoint_record_error on one retrying
 * checkpoint with retries: whether it took, the retries count before, and the row after (status,
 * the newest retry entry, the count).
 */
export async function recordOneError(client: pg.ClientBase) {
  const { rows } = await client.query(`
      WITH one AS (SELECT id, stream_position, cardinality(retries) AS n FROM beckett.checkpoints
                    WHERE status = 'retry' AND retries IS NOT NULL ORDER BY id LIMIT 1)
      SELECT beckett.checkpoint_record_error(id, stream_position, '{"type":"X"}', NULL) AS ok, id, n
        FROM one`);
  const after = await client.query(
    'SELECT status, retries[cardinality(retries)]::text AS last, cardinality(retries) AS n FROM beckett.checkpoints WHERE id = $1',
    [rows[0].id],
  );
  return { ok: rows[0].ok as boolean, before: rows[0].n as number, after: after.rows[0] };
}

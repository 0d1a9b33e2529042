import type pg from 'pg';
import { type Reservation, reserveNext } from './checkpoint.js';

/** What a group of workers did, and every broken promise they observed. */
export interface WorkerStats {
  reservations: number;
  successes: number;
  retries: number;
  failures: number;
  releases: number;
  /** Completions refused because the reservation had expired and been recovered (fencing). */
  stale: number;
  /** Unexpected SQL errors (duplicate keys, deadlocks, foreign keys...). */
  errors: string[];
  /** A checkpoint handed to a worker while another worker's reservation was still live, or a
   *  live reservation taken away from its worker. */
  violations: string[];
}

export interface WorkerOptions {
  groups: string[];
  durationMs: number;
  /** Reservation timeout (interval text). */
  timeout: string;
  /** Share of reservations the worker sits on for `stallMs` before finishing (to let them expire). */
  stallShare?: number;
  stallMs?: number;
}

interface Holder {
  worker: number;
  until: Date;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Workers that reserve, then complete (70%), schedule a retry (15%), fail (5%) or release (10%)
 * each checkpoint, through the family's functions, until the deadline. Every call after a reserve
 * passes the reservation's token. A worker stops holding a checkpoint *before* it sends its
 * completion, so the shared holder map can only show a true overlap: a checkpoint reserved by a
 * second worker while the first one's reservation (until its token time) was live.
 */
export async function runCheckpointWorkers(
  clients: pg.Client[],
  options: WorkerOptions,
): Promise<WorkerStats> {
  const stats: WorkerStats = {
    reservations: 0,
    successes: 0,
    retries: 0,
    failures: 0,
    releases: 0,
    stale: 0,
    errors: [],
    violations: [],
  };
  const holders = new Map<string, Holder>();
  const deadline = Date.now() + options.durationMs;
  await Promise.all(
    clients.map(async (client, worker) => {
      const group = options.groups[worker % options.groups.length]!;
      while (Date.now() < deadline) {
        try {
          const r = await reserveSeen(client, group, options.timeout);
          if (!r) {
            await sleep(5);
            continue;
          }
          stats.reservations += 1;
          const prev = holders.get(r.id);
          if (prev && r.seen_at < prev.until)
            stats.violations.push(
              `checkpoint ${r.id} reserved by worker ${worker} at ${r.seen_at.toISOString()} while worker ${prev.worker} held it until ${prev.until.toISOString()}`,
            );
          holders.set(r.id, { worker, until: r.reserved_until });
          if (Math.random() < (options.stallShare ?? 0)) await sleep(options.stallMs ?? 0);
          if (holders.get(r.id)?.worker === worker) holders.delete(r.id);
          await finish(client, r, stats);
        } catch (err) {
          stats.errors.push(err instanceof Error ? err.message : String(err));
        }
      }
    }),
  );
  return stats;
}

async function reserveSeen(
  client: pg.ClientBase,
  group: string,
  timeout: string,
): Promise<(Reservation & { seen_at: Date }) | undefined> {
  const r = await reserveNext(client, group, timeout);
  if (!r) return undefined;
  // The moment the reservation certainly existed: after the statement returned.
  const { rows } = await client.query('SELECT clock_timestamp() AS at');
  return { ...r, seen_at: rows[0].at as Date };
}

async function finish(client: pg.ClientBase, r: Reservation, stats: WorkerStats): Promise<void> {
  const dice = Math.random();
  let sql: string;
  let params: unknown[];
  let counter: 'successes' | 'retries' | 'failures' | 'releases';
  if (dice < 0.7) {
    sql = 'beckett.checkpoint_record_success($1, $2, NULL, $3::timestamptz)';
    params = [r.id, r.stream_version, r.token];
    counter = 'successes';
  } else if (dice < 0.85) {
    sql = `beckett.checkpoint_record_error($1, $2::bigint - 1, '"boom"', clock_timestamp() + random() * interval '100 ms', $3::timestamptz)`;
    params = [r.id, r.stream_version, r.token];
    counter = 'retries';
  } else if (dice < 0.9) {
    sql = `beckett.checkpoint_record_error($1, $2::bigint - 1, '"fatal"', NULL, $3::timestamptz)`;
    params = [r.id, r.stream_version, r.token];
    counter = 'failures';
  } else {
    sql = 'beckett.checkpoint_release($1, $2::timestamptz)';
    params = [r.id, r.token];
    counter = 'releases';
  }
  const { rows } = await client.query(`SELECT ${sql} AS ok, clock_timestamp() AS at`, params);
  if (rows[0].ok) {
    stats[counter] += 1;
    return;
  }
  stats.stale += 1;
  // Refused: allowed only if the reservation had expired (and was recovered) by now.
  if ((rows[0].at as Date) < r.reserved_until)
    stats.violations.push(
      `worker lost live reservation of checkpoint ${r.id} (until ${r.reserved_until.toISOString()})`,
    );
}

/**
 * Another process inserting new work in a loop: each statement inserts `rows` new lagging
 * checkpoints and bumps stream_version of `rows` random existing ones (reserved or not), as one
 * multi-row INSERT ... ON CONFLICT DO UPDATE, the shape of Beckett's record_checkpoints.
 */
export function startInserter(
  client: pg.Client,
  rows = 5,
): { stop(): Promise<{ statements: number; errors: string[] }> } {
  let running = true;
  let statements = 0;
  const errors: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        await client.query(
          `INSERT INTO beckett.checkpoints AS c (subscription_id, stream_name, stream_version)
           SELECT subscription_id, stream_name, version FROM (
             SELECT s.ids[1 + floor(random() * array_length(s.ids, 1))::int] AS subscription_id,
                    'new-' || gen_random_uuid() AS stream_name, 1 + floor(random() * 5)::bigint AS version
               FROM generate_series(1, $1), (SELECT array_agg(id) AS ids FROM beckett.subscriptions) s
             UNION ALL
             (SELECT subscription_id, stream_name, stream_version + 1 FROM beckett.checkpoints
               ORDER BY random() LIMIT $1)) w
           ON CONFLICT (subscription_id, stream_name) DO UPDATE
              SET stream_version = c.stream_version + 1`,
          [rows],
        );
        statements += 1;
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { statements, errors };
    },
  };
}

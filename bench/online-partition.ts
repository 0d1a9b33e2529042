/**
 * `dbops migrate up partition` (16 HASH -> 100 LIST) and then `dbops migrate down partition --all`
 * on a big Semantik database while a writer keeps inserting chunks: time of each, per-migration
 * times, how long the swap locked chunks, the writer's longest statement (how long it was
 * blocked), and checksums showing every row was kept. The writer inserts without partition_key
 * while chunks has no such column and with partition_key = chunk_partition_key(collection_id)
 * once it has (from migration 0001 until down drops it again), as an application would be
 * deployed for the swap.
 *
 *   npm run build && node dist/bench/online-partition.js [chunks=2000000] [collections=500]
 */
import type pg from 'pg';
import { createSeededSemantik } from '../src/families/partition/fixture.js';
import { runDbops } from './lib/cli.js';
import { createBenchDatabase } from './lib/db.js';
import { startWriter } from './lib/writer.js';

const chunks = Number(process.argv[2] ?? 2_000_000);
const collections = Number(process.argv[3] ?? 500);
const WRITER_TAG = 'bench-';
/** Statements issued by every writer of this run, so chunk_index values never repeat. */
let statements = 0;

/** Order-independent checksum of the seeded rows (base columns; partition_key left out). */
async function seededRows(c: pg.ClientBase): Promise<{ rows: number; checksum: string }> {
  const { rows } = await c.query(
    `SELECT count(*)::int AS rows, sum(hashtextextended(ROW(id, collection_id, document_id, chunking_config_id,
            chunk_index, content, start_offset, end_offset, token_count, embedding_vector_id, created_at,
            meta::text)::text, 0))::text AS checksum
       FROM public.chunks WHERE id NOT LIKE '${WRITER_TAG}%'`,
  );
  return rows[0];
}

async function writerRows(c: pg.ClientBase): Promise<number> {
  const { rows } = await c.query(
    `SELECT count(*)::int AS n FROM public.chunks WHERE id LIKE '${WRITER_TAG}%'`,
  );
  return rows[0].n;
}

/** Ten chunks per statement into random documents, keyed or not depending on the table's shape. */
function chunkInserter(docs: { id: string; collection_id: string }[]) {
  let keyed = false;
  let inserted = 0;
  const insert = (c: pg.Client, withKey: boolean) => {
    const picked = Array.from({ length: 10 }, () => docs[Math.floor(Math.random() * docs.length)]!);
    const n = ++statements;
    return c.query(
      `INSERT INTO public.chunks (id, collection_id, document_id, chunk_index, content, token_count${withKey ? ', partition_key' : ''})
       SELECT '${WRITER_TAG}' || gen_random_uuid(), d.cid, d.did, 100000000 + $3 * 10 + d.k, 'written during the move', 5
              ${withKey ? ', chunk_partition_key(d.cid)' : ''}
         FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS d(did, cid, k)`,
      [picked.map((d) => d.id), picked.map((d) => d.collection_id), n],
    );
  };
  const slow: { ms: number; at: number }[] = [];
  return {
    inserted: () => inserted,
    /** The five slowest statements: duration and start, ms since `since`. */
    slowest: (since: number) =>
      [...slow]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 5)
        .map((x) => ({ ms: Math.round(x.ms), at: Math.round(x.at - since) })),
    async write(c: pg.Client) {
      const started = performance.now();
      try {
        await insert(c, keyed);
      } catch (err) {
        // 42703: no partition_key column (before 0001, after down); 23514: the LIST table wants it.
        const code = (err as { code?: string }).code;
        if (code !== '42703' && code !== '23514') throw err;
        keyed = !keyed;
        await insert(c, keyed);
      } finally {
        slow.push({ ms: performance.now() - started, at: started });
        if (slow.length > 50)
          slow.splice(slow.indexOf(slow.reduce((a, b) => (a.ms < b.ms ? a : b))), 1);
      }
      inserted += 10;
    },
  };
}

/**
 * Samples the writer's backend every 10 ms and returns the longest stretch it spent waiting for
 * a lock (wait_event_type 'Lock'): being blocked, as opposed to merely slow on a busy machine.
 */
function watchLockWaits(
  monitor: pg.Client,
  pid: number,
  origin: number,
): { stop(): Promise<{ ms: number; at: number; on: string | null; behind: string | null }> } {
  let running = true;
  let longest = { ms: 0, at: 0, on: null as string | null, behind: null as string | null };
  const loop = (async () => {
    let since: number | undefined;
    let on: string | null = null;
    let behind: string | null = null;
    while (running) {
      const { rows } = await monitor.query(
        `SELECT (SELECT l.relation::regclass::text || ' ' || l.locktype || ' ' || l.mode FROM pg_locks l
                  WHERE l.pid = $1 AND NOT l.granted LIMIT 1) AS waiting_for,
                (SELECT string_agg(a.backend_type || ' ' || left(a.query, 60) || ' [' || coalesce(a.wait_event_type, '') || ']', ' | ')
                   FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1))) AS blockers`,
        [pid],
      );
      const now = performance.now();
      const waitingFor = rows[0]?.waiting_for ?? null;
      if (waitingFor !== null && since === undefined) {
        since = now;
        on = waitingFor;
        behind = rows[0]?.blockers ?? null;
      } else if (waitingFor === null && since !== undefined) {
        if (now - since > longest.ms) longest = { ms: now - since, at: since - origin, on, behind };
        since = undefined;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ...longest, ms: Math.round(longest.ms), at: Math.round(longest.at) };
    },
  };
}

/** The last progress line of each phase and every note, from the CLI's stderr. */
function phases(stderr: string): string[] {
  const lines: { label: string; line: string }[] = [];
  for (const line of stderr.split('\n').filter(Boolean)) {
    const label = /^(.*?): \d+(\/\d+)? .*\(\d+\.\d s\)$/.exec(line)?.[1] ?? line;
    if (lines.at(-1)?.label === label) lines.pop();
    lines.push({ label, line });
  }
  return lines.map((l) => l.line);
}

async function move(db: Awaited<ReturnType<typeof createBenchDatabase>>, args: string[]) {
  const before = await seededRows(db.client);
  const writtenBefore = await writerRows(db.client);
  const docs = (await db.client.query('SELECT id, collection_id FROM public.documents')).rows;
  const inserter = chunkInserter(docs);
  const writerClient = await db.connect();
  const pid = (await writerClient.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const monitor = await db.connect();
  const started = performance.now();
  const lockWaits = watchLockWaits(monitor, pid, started);
  const writer = startWriter(writerClient, (c) => inserter.write(c));
  const run = await runDbops([...args, '--format', 'json'], db.url);
  const stats = await writer.stop();
  const longestLockWait = await lockWaits.stop();
  await monitor.end();
  await writerClient.end();
  if (run.code !== 0) throw new Error(`${args.join(' ')} failed (${run.code}): ${run.stderr}`);
  const after = await seededRows(db.client);
  const report = JSON.parse(run.stdout) as {
    migrations: { id: string; numbers: { durationMs: number } }[];
  };
  let end = 0;
  return {
    ms: run.ms,
    /** Each migration's duration and when it ended, ms since the command started (approximate). */
    migrations: Object.fromEntries(
      report.migrations.map((m) => {
        end += m.numbers.durationMs;
        return [m.id, { ms: m.numbers.durationMs, endedAt: end }];
      }),
    ),
    slowestWrites: inserter.slowest(started),
    /** Longest time the writer's backend waited for a lock (sampled every 10 ms), when, on what. */
    longestLockWait,
    phases: phases(run.stderr),
    swapLockedMs: Number(/chunks locked for (\d+) ms/.exec(run.stderr)?.[1]),
    swap: /swapped chunks .*/.exec(run.stderr)?.[0],
    verified: /verified: .*/.exec(run.stderr)?.[0],
    seededRows: {
      before,
      after,
      identical: before.checksum === after.checksum && before.rows === after.rows,
    },
    writerRows: {
      inserted: inserter.inserted(),
      found: (await writerRows(db.client)) - writtenBefore,
    },
    writer: stats,
  };
}

const db = await createBenchDatabase('online_partition');
try {
  const t = performance.now();
  await createSeededSemantik(db.client, { collections, chunks });
  await db.client.query('VACUUM ANALYZE');
  console.log(
    `seeded ${chunks} chunks over ${collections} collections in ${Math.round(performance.now() - t)} ms`,
  );
  const up = await move(db, ['migrate', 'up', 'partition']);
  console.log(JSON.stringify({ up }, null, 2));
  const down = await move(db, ['migrate', 'down', 'partition', '--all']);
  console.log(JSON.stringify({ down }, null, 2));
} finally {
  await db.drop();
}

/**
 * The cost per INSERT of the two kinds of chunks writers after `migrate up partition`, on
 * Semantik's real schema (shared/fixtures/real/partition_real.sql): a writer that supplies
 * partition_key = chunk_partition_key(collection_id) (routed straight to its partition; the
 * best hand-written SQL, the baseline) and Semantik's pre-change writer that leaves the key out
 * (routed to chunks_default, moved to its partition by the reroute trigger in the same
 * statement). Single-row INSERTs, as the application issues them, timed in alternating rounds on
 * one connection (so both see the same server load), twice: each INSERT in its own transaction
 * (what a writer pays, commit included) and all of a round in one transaction (the statement
 * alone, without the commit's flush). The median round is reported as microseconds per insert.
 * Last, keyed inserts with and without the DEFAULT partition attached: what it costs the writers
 * that supply the key.
 *
 *   npm run build && node dist/bench/partition-old-writers.js [inserts-per-round=2000] [rounds=5]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';
import { runDbops } from './lib/cli.js';
import { createBenchDatabase } from './lib/db.js';

const perRound = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 5);
const fixture = readFileSync(
  join(packageRoot, '..', 'shared', 'fixtures', 'real', 'partition_real.sql'),
  'utf8',
);

const db = await createBenchDatabase('partition_old_writers');
try {
  await db.client.query(fixture);
  const up = await runDbops(['migrate', 'up', 'partition'], db.url);
  if (up.code !== 0) throw new Error(`migrate up partition failed: ${up.stderr}`);
  const { rows: docs } = await db.client.query(
    'SELECT id, collection_id, chunking_config_id FROM public.documents ORDER BY id',
  );
  let n = 0;
  const columns =
    'id, collection_id, document_id, chunking_config_id, chunk_index, content, start_offset, end_offset';
  const keyed = `INSERT INTO public.chunks (${columns}, partition_key)
                 VALUES ($1, $2, $3, $4, $5, 'x', 0, 1, chunk_partition_key($2))`;
  const unkeyed = `INSERT INTO public.chunks (${columns}) VALUES ($1, $2, $3, $4, $5, 'x', 0, 1)`;
  let oneTransaction = false;
  const round = async (sql: string) => {
    if (oneTransaction) await db.client.query('BEGIN');
    const started = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) {
      const d = docs[n % docs.length];
      n += 1;
      await db.client.query({
        name: sql === keyed ? 'keyed' : 'unkeyed',
        text: sql,
        values: [`bench-${n}`, d.collection_id, d.id, d.chunking_config_id, 200_000 + n],
      });
    }
    if (oneTransaction) await db.client.query('COMMIT');
    return Number(process.hrtime.bigint() - started) / 1000 / perRound;
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const measure = async () => {
    await round(keyed); // warm-up (plans, caches)
    await round(unkeyed);
    const times = { keyed: [] as number[], unkeyed: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      times.keyed.push(await round(keyed));
      times.unkeyed.push(await round(unkeyed));
    }
    const k = median(times.keyed);
    const u = median(times.unkeyed);
    return {
      keyedUsPerInsert: Math.round(k),
      unkeyedUsPerInsert: Math.round(u),
      extraUsPerUnkeyedInsert: Math.round(u - k),
      ratio: Number((u / k).toFixed(2)),
    };
  };
  const autocommit = await measure();
  oneTransaction = true;
  const statementOnly = await measure();
  // Writers that supply the key: the same inserts with the DEFAULT partition detached, to show
  // it costs them nothing (alternating rounds, statement only).
  const withDefault: number[] = [];
  const withoutDefault: number[] = [];
  for (let r = 0; r < rounds; r++) {
    withDefault.push(await round(keyed));
    await db.client.query('ALTER TABLE public.chunks DETACH PARTITION public.chunks_default');
    withoutDefault.push(await round(keyed));
    await db.client.query(
      'ALTER TABLE public.chunks ATTACH PARTITION public.chunks_default DEFAULT',
    );
  }
  const keyedDefaultPartition = {
    withUsPerInsert: Math.round(median(withDefault)),
    withoutUsPerInsert: Math.round(median(withoutDefault)),
  };
  const left = (await db.client.query('SELECT count(*)::int AS n FROM public.chunks_default'))
    .rows[0].n;
  const misrouted = (
    await db.client.query(
      `SELECT count(*)::int AS n FROM public.chunks c JOIN pg_class p ON p.oid = c.tableoid
        WHERE p.relname <> 'chunks_part_' || lpad(chunk_partition_key(c.collection_id)::text, 2, '0')`,
    )
  ).rows[0].n;
  const server = (await db.client.query('SHOW server_version')).rows[0].server_version;
  process.stdout.write(
    `${JSON.stringify({ server, perRound, rounds, autocommit, statementOnly, keyedDefaultPartition, defaultPartitionRows: left, misrouted }, null, 2)}\n`,
  );
  if (left !== 0 || misrouted !== 0) process.exitCode = 1;
} finally {
  await db.drop();
}

import type { BatchOutcome, ResyncCounts, ResyncTarget } from '../../resync/types.js';
import { COLLECTION_STATS_DRIFT } from './online/monitoring.js';

/**
 * collection_chunking_stats (the partition family's materialized view: chunks per collection,
 * documents, average tokens, newest chunk, the collection's partition) from chunks and
 * collections, by REFRESH MATERIALIZED VIEW CONCURRENTLY. Repairs every kind of drift: a
 * collection without a row, a row whose collection is gone, a row with stale numbers.
 *
 * One batch: a refresh is all-or-nothing, so there is no source-key order to resume in (a rerun
 * after an interruption just refreshes again). CONCURRENTLY takes EXCLUSIVE on the view only
 * (readers of the view and every writer of chunks go on; another refresh waits), reads chunks at
 * one snapshot, and applies the difference as row changes, which needs the unique index on id
 * that the family creates.
 *
 * The counts cost no second read of chunks: the refresh deletes the old version of every row it
 * changes or removes and inserts the new version of every row it changes or adds, and
 * pg_stat_xact_user_tables counts those in this transaction (track_counts, on by default and
 * needed by autovacuum). The view's ids before and after (one row per collection) tell the
 * additions and removals apart; the rest of the inserts are updates.
 */
const COUNT_DRIFT = `
SELECT count(*) FILTER (WHERE change = 'insert')::int AS inserted,
       count(*) FILTER (WHERE change = 'update')::int AS updated,
       count(*) FILTER (WHERE change = 'delete')::int AS deleted
  FROM (${COLLECTION_STATS_DRIFT}) d`;

const IDS = `SELECT coalesce(array_agg(id), '{}') AS ids FROM collection_chunking_stats`;

const REFRESH = 'REFRESH MATERIALIZED VIEW CONCURRENTLY collection_chunking_stats';

const CHANGES = `
SELECT (SELECT n_tup_ins FROM pg_stat_xact_user_tables
         WHERE relid = 'collection_chunking_stats'::regclass)::int AS rows_inserted,
       count(*) FILTER (WHERE NOT (id = ANY ($1::varchar[])))::int AS added,
       count(*)::int AS total
  FROM collection_chunking_stats`;

type Client = Parameters<ResyncTarget['countDrift']>[0];

async function countDrift(client: Client): Promise<ResyncCounts> {
  const { rows } = await client.query<ResyncCounts>(COUNT_DRIFT);
  return rows[0]!;
}

async function refresh(client: Client): Promise<BatchOutcome> {
  const before = (await client.query<{ ids: string[] }>(IDS)).rows[0]!.ids;
  await client.query(REFRESH);
  const { rows } = await client.query<{ rows_inserted: number; added: number; total: number }>(
    CHANGES,
    [before],
  );
  const { rows_inserted, added, total } = rows[0]!;
  return {
    inserted: added,
    updated: rows_inserted - added,
    deleted: before.length - (total - added),
    next: null,
    keys: total,
  };
}

export const chunkingStatsTarget: ResyncTarget = {
  name: 'chunking-stats',
  family: 'partition',
  title: 'collection_chunking_stats (materialized view) from chunks and collections',
  defaultBatchSize: 1,
  async totalKeys(client) {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM collections',
    );
    return rows[0]!.n;
  },
  countDrift,
  repairBatch: refresh,
};

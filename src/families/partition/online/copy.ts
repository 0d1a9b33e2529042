import { quoteIdent } from '../../../db/ident.js';
import { InterruptedError } from '../../../errors.js';
import type { MigrationContext } from '../../../migrate/context.js';
import { PROGRESS_TABLE } from './capture.js';
import { copyColumns, insertColumns, type Layout } from './layouts.js';
import { oneRow, rowsOf, type Sql } from './sql.js';

/**
 * The bulk copy from the live table into the staging copy: each source partition in block
 * ranges (a TID range scan reads the heap sequentially; a keyset over the uuid-like primary key
 * reads it randomly and measured 3x slower), into unindexed partitions. One statement, so one
 * committed transaction, per range: it moves the cursor in chunks_copy_progress with a
 * compare-and-set and copies only if that succeeded. A second runner (say the backend of a killed
 * dbops, still finishing its last batch) makes us wait on the cursor row, after which the
 * compare fails and we reread the cursor instead of copying that range twice.
 *
 * Rows that change while this runs are recorded by the capture trigger and made exact by the
 * catch-up; a row version that moved to a later block during the copy can be copied twice, which
 * is why the staging copy is de-duplicated by recorded key before its primary key is built.
 */
export function copyBatchSql(target: Layout, partition: string): string {
  return `WITH claim AS (
  UPDATE ${PROGRESS_TABLE} SET next_block = $4
   WHERE target = $1 AND source_partition = $2 AND next_block = $3 AND NOT finished
  RETURNING 1
), copied AS (
  INSERT INTO ${target.staging} (${insertColumns(target)}, partition_key)
  SELECT ${copyColumns(target, 's')}, ${target.keyFrom}
    FROM ${quoteIdent(partition)} s
   WHERE s.ctid >= $5::tid AND s.ctid < $6::tid AND EXISTS (SELECT 1 FROM claim)
  RETURNING 1
)
SELECT (SELECT count(*) FROM claim) AS claimed, (SELECT count(*) FROM copied) AS copied`;
}

/** For --dry-run: the batch statement as it runs on the first source partition. */
export function copyPlanSql(source: Layout, target: Layout, batchSize: number): string {
  return `-- copy ${source.kind.toUpperCase()} chunks into ${target.staging}: for each source partition, block ranges of about ${batchSize} rows
-- ($1 target, $2 partition, $3 cursor block, $4 = $3 + blocks per batch, $5..$6 the same as tids)
${copyBatchSql(target, source.partitions[0]!.name)}`;
}

interface Cursor {
  source_partition: string;
  next_block: string;
  finished: boolean;
}

export async function readCursor(sql: Sql, target: Layout): Promise<Cursor | undefined> {
  const [row] = await rowsOf<Cursor>(
    sql,
    `SELECT source_partition, next_block, finished FROM ${PROGRESS_TABLE} WHERE target = $1`,
    [target.staging],
  );
  return row;
}

/**
 * Copies every row of the live `source` layout into `target`'s staging table, resuming at the
 * cursor. Progress counts source blocks. Returns the rows copied by this run.
 */
export async function copyRows(
  sql: Sql,
  ctx: MigrationContext,
  source: Layout,
  target: Layout,
): Promise<number> {
  const durability = await relaxCommits(sql);
  try {
    return await copyRanges(sql, ctx, source, target);
  } finally {
    await durability.restore();
  }
}

async function copyRanges(
  sql: Sql,
  ctx: MigrationContext,
  source: Layout,
  target: Layout,
): Promise<number> {
  let cursor = await readCursor(sql, target);
  if (!cursor) throw new Error(`${PROGRESS_TABLE} has no cursor for ${target.staging}`);
  if (cursor.finished) return 0;
  const sizes = await partitionSizes(sql, source, ctx.batchSize);
  const order = source.partitions.map((p) => p.name);
  const blocksBefore = (c: Cursor) =>
    order
      .slice(0, order.indexOf(c.source_partition))
      .reduce((sum, name) => sum + sizes.get(name)!.blocks, 0) + Number(c.next_block);
  if (blocksBefore(cursor) > 0) {
    ctx.progress.note(`copy resumes at ${cursor.source_partition} block ${cursor.next_block}`);
  }
  const total = [...sizes.values()].reduce((sum, s) => sum + s.blocks, 0);
  ctx.progress.start(`copy chunks into ${target.staging} (source blocks)`, total);
  let copied = 0;
  while (!cursor.finished) {
    if (ctx.signal.aborted) throw new InterruptedError('interrupted while copying chunks');
    const partition = cursor.source_partition;
    const from: number = Number(cursor.next_block);
    const size = sizes.get(partition)!;
    if (from >= size.blocks) {
      // The partition may have grown since we measured it; rows appended behind the cursor are
      // captured anyway, so this only decides whether one more range is worth copying.
      size.blocks = await currentBlocks(sql, partition);
      if (from >= size.blocks) cursor = await advance(sql, target, order, cursor);
      continue;
    }
    const to: number = from + size.perBatch;
    const r = await oneRow<{ claimed: string; copied: string }>(
      sql,
      copyBatchSql(target, partition),
      [target.staging, partition, from, to, `(${from},0)`, `(${to},0)`],
    );
    if (Number(r.claimed) === 1) {
      copied += Number(r.copied);
      cursor = { ...cursor, next_block: String(to) };
    } else {
      cursor = (await readCursor(sql, target))!;
    }
    ctx.progress.update(Math.min(total, blocksBefore(cursor)));
  }
  ctx.progress.finish();
  ctx.progress.note(`copied ${copied} rows into ${target.staging}`);
  return copied;
}

/**
 * The batches commit without waiting for the WAL flush (synchronous_commit off for this session
 * while the copy runs, put back after). Safe: each batch moves the cursor in the same transaction
 * as its rows, and WAL is replayed in order, so a crash loses only the last batches whole (rows
 * and cursor together) and the rerun copies them again. The first synchronous commit after the
 * copy (the migration's history row) flushes every batch before `migrate up` reports success.
 */
async function relaxCommits(sql: Sql): Promise<{ restore(): Promise<void> }> {
  const r = await oneRow<{ before: string }>(
    sql,
    `SELECT current_setting('synchronous_commit') AS before, set_config('synchronous_commit', 'off', false)`,
  );
  return {
    async restore() {
      // A failure here means the session is gone (e.g. killed mid-copy), and its setting with it;
      // the error that ended the copy is the one to report.
      await sql
        .query(`SELECT set_config('synchronous_commit', $1, false)`, [r.before])
        .catch(() => {});
    },
  };
}

/** Moves the cursor to the next partition in layout order, or marks the copy finished. */
async function advance(sql: Sql, target: Layout, order: string[], cursor: Cursor): Promise<Cursor> {
  const next = order[order.indexOf(cursor.source_partition) + 1];
  await sql.query(
    `UPDATE ${PROGRESS_TABLE} SET source_partition = $3, next_block = 0, finished = $4
      WHERE target = $1 AND source_partition = $2 AND next_block = $5`,
    [
      target.staging,
      cursor.source_partition,
      next ?? cursor.source_partition,
      next === undefined,
      cursor.next_block,
    ],
  );
  return (await readCursor(sql, target))!;
}

async function currentBlocks(sql: Sql, partition: string): Promise<number> {
  const r = await oneRow<{ blocks: string }>(
    sql,
    `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int AS blocks`,
    [quoteIdent(partition)],
  );
  return Number(r.blocks);
}

/** Each source partition's length in blocks and how many blocks hold about `rows` rows. */
async function partitionSizes(
  sql: Sql,
  source: Layout,
  rows: number,
): Promise<Map<string, { blocks: number; perBatch: number }>> {
  const found = await rowsOf<{ name: string; blocks: string; per_page: number }>(
    sql,
    `SELECT c.relname AS name, pg_relation_size(c.oid) / current_setting('block_size')::int AS blocks,
            CASE WHEN c.reltuples > 0 AND c.relpages > 0 THEN c.reltuples / c.relpages ELSE 20 END AS per_page
       FROM pg_class c
      WHERE c.relname = ANY ($1) AND c.relnamespace = current_schema()::regnamespace`,
    [source.partitions.map((p) => p.name)],
  );
  return new Map(
    found.map((r) => [
      r.name,
      {
        blocks: Number(r.blocks),
        perBatch: Math.max(1, Math.floor(rows / Math.max(1, r.per_page))),
      },
    ]),
  );
}

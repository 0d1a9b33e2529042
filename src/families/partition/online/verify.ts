import { quoteIdent } from '../../../db/ident.js';
import { PreconditionError } from '../../../errors.js';
import { CHANGES_TABLE } from './capture.js';
import { type ColumnSpec, type Layout, LIVE_TABLE } from './layouts.js';
import { inTransaction, oneRow, type Sql } from './sql.js';

/** Row count, an order-independent checksum of the rows, and distinct collections of one table. */
export interface TableSummary {
  rows: number;
  checksum: string;
  collections: number;
}

/** Types with an extended hash function (hash_record_extended needs one for every field). */
const HASHABLE =
  /^(integer|bigint|smallint|text|boolean|uuid|date|bytea|jsonb|real|double precision|character varying(\(\d+\))?|character(\(\d+\))?|numeric(\(.*\))?|timestamp(\(\d\))? with(out)? time zone)$/;

/**
 * Sum of a 64-bit hash of every row (every original column; a type without a hash, such as json,
 * as text): equal multisets of rows give equal sums, a missing, extra, duplicated or changed row
 * changes it. Rows whose key has a change not yet applied are left out of both sides (see
 * compareCopy).
 */
export function summarySql(table: string, layoutColumns: ColumnSpec[]): string {
  const columns = layoutColumns.map((c) =>
    HASHABLE.test(c.type) ? `s.${quoteIdent(c.name)}` : `s.${quoteIdent(c.name)}::text`,
  );
  return `SELECT count(*) AS collections, coalesce(sum(n), 0) AS rows, coalesce(sum(h), 0) AS checksum
  FROM (SELECT s.collection_id, count(*) AS n,
               sum(hash_record_extended(ROW(${columns.join(', ')}), 0)) AS h
          FROM ${table} s
         WHERE NOT EXISTS (SELECT 1 FROM ${CHANGES_TABLE} c
                            WHERE c.id = s.id AND c.collection_id = s.collection_id)
         GROUP BY s.collection_id) g`;
}

async function summarize(sql: Sql, table: string, layout: Layout): Promise<TableSummary> {
  const r = await oneRow<{ rows: string; checksum: string; collections: string }>(
    sql,
    summarySql(table, layout.columns),
  );
  return { rows: Number(r.rows), checksum: r.checksum, collections: Number(r.collections) };
}

export function describe(s: TableSummary): string {
  return `${s.rows} rows, checksum ${s.checksum}, ${s.collections} collections`;
}

export interface Comparison {
  live: TableSummary;
  staging: TableSummary;
  /** Keys with a recorded change not yet applied at the snapshot (left out of both sides). */
  pendingKeys: number;
  same: boolean;
}

/**
 * Compares the live table and the staging copy at one snapshot (REPEATABLE READ), leaving out
 * the keys that have an unapplied change at that snapshot. Why that proves the swap exact: every
 * write after the snapshot records its key too, the catch-up only ever rewrites recorded keys,
 * and the swap applies every remaining recorded key under its lock; so at the swap the two tables
 * agree on the unrecorded keys (verified here) and on the recorded ones (made equal there).
 */
export async function compareCopy(sql: Sql, staging: Layout): Promise<Comparison> {
  const result = await inTransaction(
    sql,
    async () => ({
      live: await summarize(sql, LIVE_TABLE, staging),
      staging: await summarize(sql, staging.staging, staging),
      pendingKeys: Number(
        (await oneRow<{ n: string }>(sql, `SELECT count(*) AS n FROM ${CHANGES_TABLE}`)).n,
      ),
    }),
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  );
  const same =
    result.live.rows === result.staging.rows &&
    result.live.checksum === result.staging.checksum &&
    result.live.collections === result.staging.collections;
  return { ...result, same };
}

export function mismatchError(c: Comparison, staging: Layout, hint: string): PreconditionError {
  return new PreconditionError(
    `verification failed, nothing was swapped: ${LIVE_TABLE} has ${describe(c.live)}; ` +
      `${staging.staging} has ${describe(c.staging)} (rows with unapplied changes left out of both)`,
    hint,
  );
}

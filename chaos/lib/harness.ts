import type pg from 'pg';
import type { TestDatabase } from '../../test/helpers/db.js';
import type { Rng } from './rng.js';

/** One application operation: runs inside a transaction the caller opens and ends. */
export interface WriteOp {
  name: string;
  /** Relative frequency in the mix (default 1). */
  weight?: number;
  run(client: pg.ClientBase, rnd: Rng): Promise<void>;
  /**
   * Errors of this op alone that the application gets without dbops too, beyond the family's
   * `appErrors`: a SQLSTATE and the error's context (`where`, the statement it was raised in),
   * each shown without dbops by a test.
   */
  appErrors?: OpAppError[];
}

export interface OpAppError {
  code: string;
  where: RegExp;
}

/** Differences from the oracle, by name; every value must be 0. */
export type Drift = Record<string, number>;

/**
 * Everything the chaos suite needs to know about one family: how to build its base data, what
 * its application writes, how to break its derived data (so a resync has work to be killed in),
 * and an oracle written independently of dbops' SQL.
 */
export interface FamilyHarness {
  name: 'lookup' | 'partition' | 'sequence' | 'checkpoint';
  /** Schema whose catalog is compared with the clean run's (leftover staging objects, indexes). */
  schema: string;
  /** Base tables (qualified); their original columns are checksummed. */
  baseTables: string[];
  resyncTargets: string[];
  /** Creates the base schema and a small realistic data set. */
  setup(db: TestDatabase): Promise<void>;
  ops: WriteOp[];
  /** Makes the derived data of one resync target wrong in the ways that target repairs. */
  drift(client: pg.ClientBase, target: string): Promise<void>;
  /**
   * `always`: what the family's triggers keep exact at every commit while it is applied.
   * `afterResync`: what is exact right after `resync` of every target (with no writers).
   * Both are empty while the family is not applied.
   */
  oracle(client: pg.ClientBase): Promise<{ always: Drift; afterResync: Drift }>;
  /** SQLSTATEs the application gets without dbops too (e.g. a foreign key race with a delete). */
  appErrors: string[];
}

/** Picks the row at a random offset of a query's result (deterministic for a given rnd and state). */
export async function pickRow<T extends pg.QueryResultRow>(
  client: pg.ClientBase,
  rnd: Rng,
  from: string,
  columns: string,
  order: string,
): Promise<T | undefined> {
  const { rows } = await client.query<T>(
    `SELECT ${columns} FROM ${from} ORDER BY ${order}
      OFFSET floor($1::float8 * (SELECT count(*) FROM ${from}))::int LIMIT 1`,
    [rnd()],
  );
  return rows[0];
}

export async function relationExists(client: pg.ClientBase, name: string): Promise<boolean> {
  const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [name]);
  return rows[0].ok as boolean;
}

export async function columnExists(
  client: pg.ClientBase,
  table: string,
  column: string,
): Promise<boolean> {
  const { rows } = await client.query(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)
                      AND attname = $2 AND NOT attisdropped) AS ok`,
    [table, column],
  );
  return rows[0].ok as boolean;
}

/** Counts of a query returning one row of integer columns. */
export async function counts(client: pg.ClientBase, sql: string): Promise<Drift> {
  const { rows } = await client.query(sql);
  return Object.fromEntries(Object.entries(rows[0] as object).map(([k, v]) => [k, Number(v)]));
}

import type pg from 'pg';
import type { FamilyName } from '../families/names.js';

/** Rows a resync changed, or would change in a dry run. */
export interface ResyncCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

/** What one committed batch did: the key to continue after (null when finished) and its counts. */
export interface BatchOutcome extends ResyncCounts {
  next: string | null;
  /** Source keys covered by this batch (for progress). */
  keys: number;
}

/**
 * A trigger-maintained derived table dbops can rebuild from its sources. The runner calls
 * repairBatch in its own transaction per batch (READ COMMITTED), with search_path set to the
 * family's schema, and retries a batch that hit a deadlock or serialization failure.
 */
export interface ResyncTarget {
  /** Stable name, the CLI argument (the allowlist). */
  name: string;
  family: FamilyName;
  title: string;
  /** Source keys per batch when --batch-size is not given. */
  defaultBatchSize: number;
  /** Number of source keys, for progress (optional, should be cheap). */
  totalKeys?(client: pg.ClientBase): Promise<number>;
  /** Exact counts of what a run would change. Runs inside a READ ONLY transaction. */
  countDrift(client: pg.ClientBase): Promise<ResyncCounts>;
  /** Repairs the sources' keys after `cursor` (null = from the start), at most batchSize of them. */
  repairBatch(
    client: pg.ClientBase,
    cursor: string | null,
    batchSize: number,
  ): Promise<BatchOutcome>;
  /** Work after the last batch, in its own transaction (e.g. rows whose source key is gone). */
  finish?(client: pg.ClientBase): Promise<ResyncCounts>;
}

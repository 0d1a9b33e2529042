import type { BatchOutcome, ResyncCounts, ResyncTarget } from '../../resync/types.js';

/** The SQL of a sequence resync target that repairs conversations in id-ordered batches. */
export interface ConversationBatchSql {
  name: string;
  title: string;
  /** $1 cursor (last conversation id or NULL), $2 batch size; returns one row `ids`, locked. */
  lockBatch: string;
  /** $1 the batch's conversation ids; returns one row `updated`. */
  repairBatch: string;
  /** One row of ResyncCounts: what a run would change. */
  countDrift: string;
}

/**
 * A resync target over conversations: the two sequence targets differ only in their SQL. Each
 * batch locks its conversations (LOCK_BATCH), then repairs them (REPAIR_BATCH).
 */
export function conversationBatchTarget(sql: ConversationBatchSql): ResyncTarget {
  return {
    name: sql.name,
    family: 'sequence',
    title: sql.title,
    defaultBatchSize: 500,

    async totalKeys(client) {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM conversations',
      );
      return rows[0]?.n ?? 0;
    },

    async countDrift(client): Promise<ResyncCounts> {
      const { rows } = await client.query<ResyncCounts>(sql.countDrift);
      return rows[0]!;
    },

    async repairBatch(client, cursor, batchSize): Promise<BatchOutcome> {
      const locked = await client.query<{ ids: string[] }>(sql.lockBatch, [cursor, batchSize]);
      const { ids } = locked.rows[0]!;
      if (ids.length === 0) return { next: null, keys: 0, inserted: 0, updated: 0, deleted: 0 };
      const { rows } = await client.query<{ updated: number }>(sql.repairBatch, [ids]);
      return {
        next: ids.length < batchSize ? null : ids.at(-1)!,
        keys: ids.length,
        inserted: 0,
        updated: rows[0]!.updated,
        deleted: 0,
      };
    },
  };
}

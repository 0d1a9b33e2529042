import type { DemoFamily } from '../types.js';
import { createSeededSemantik } from './fixture.js';

/** The demo's base data for this family and the drift it simulates. */
export const partitionDemo: DemoFamily = {
  family: 'partition',
  async setup(client, rows) {
    const collections = Math.max(100, Math.round(rows / 4));
    await createSeededSemantik(client, {
      collections,
      chunks: rows,
      chunksPerDocument: 4,
      evenCollections: true,
    });
    return `partition: Semantik schema, chunks in 16 HASH partitions: ${rows} chunks spread over ${collections} collections`;
  },
  async drift(client) {
    // New chunks after the last refresh of the materialized statistics (nothing refreshes it
    // on write): collection_chunking_stats is stale.
    const { rowCount } = await client.query(
      `INSERT INTO chunks (id, collection_id, partition_key, document_id, chunk_index, content, created_at)
       SELECT md5('late-' || c.id)::uuid::text, c.collection_id, chunk_partition_key(c.collection_id),
              c.document_id, c.chunk_index + 1000000, c.content, now()
         FROM chunks c ORDER BY c.id LIMIT 200`,
    );
    return `partition: ${rowCount} chunks written after collection_chunking_stats was last refreshed`;
  },
};

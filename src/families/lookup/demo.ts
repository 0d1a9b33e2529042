import type { DemoFamily } from '../types.js';
import { insertQueenMessages, queenBaseSchemaSql, seedQueen } from './fixture.js';

/** The demo's base data for this family and the drift it simulates. */
export const lookupDemo: DemoFamily = {
  family: 'lookup',
  async setup(client, rows) {
    const partitions = Math.max(10, Math.round(rows / 25));
    await client.query(queenBaseSchemaSql());
    await seedQueen(client, { queues: 20, partitions, messages: rows });
    return `lookup: Queen schema with 20 queues, ${partitions} partitions, ${rows} messages`;
  },
  async drift(client) {
    // A bulk load with the trigger disabled (as restore scripts do), then a retention job
    // deleting the newest message of some partitions: the lookup misses the first and still
    // names the deleted messages.
    await client.query('ALTER TABLE queen.messages DISABLE TRIGGER trg_update_partition_lookup');
    await insertQueenMessages(client, 500, 'queen', 'bulk');
    await client.query('ALTER TABLE queen.messages ENABLE TRIGGER trg_update_partition_lookup');
    const { rowCount } = await client.query(
      `DELETE FROM queen.messages WHERE id IN (SELECT last_message_id FROM queen.partition_lookup ORDER BY partition_id LIMIT 20)`,
    );
    return `lookup: bulk-loaded 500 messages with the trigger disabled, deleted the newest message of ${rowCount} partitions`;
  },
};

import type pg from 'pg';
import type { FamilyName } from '../families/names.js';
import { beckettBaseSchemaSql, seedBeckett } from '../fixtures/beckett.js';
import { insertNovaMessages, novaBaseSchemaSql, seedNova } from '../fixtures/nova.js';
import { insertQueenMessages, queenBaseSchemaSql, seedQueen } from '../fixtures/queen.js';
import { createSeededSemantik } from '../fixtures/semantik.js';

/** How the demo builds one family's base schema with data, and how it breaks its derived data. */
export interface DemoFamily {
  family: FamilyName;
  /** Creates the base schema with about `rows` source rows; returns a line describing it. */
  setup(client: pg.ClientBase, rows: number): Promise<string>;
  /** Simulates the drift the original system suffered; returns a line saying what was done. */
  drift(client: pg.ClientBase): Promise<string>;
}

const lookup: DemoFamily = {
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

const sequence: DemoFamily = {
  family: 'sequence',
  async setup(client, rows) {
    const conversations = Math.max(10, Math.round(rows / 50));
    await client.query(novaBaseSchemaSql());
    await seedNova(client, { conversations, messages: rows });
    return `sequence: Nova schema with ${conversations} conversations and their members, ${rows} messages`;
  },
  async drift(client) {
    // An import script that disabled the triggers for speed: messages without numbers, and
    // members removed behind the counters' back.
    await client.query('ALTER TABLE messages DISABLE TRIGGER USER');
    await insertNovaMessages(client, 300, 'public', 'bulk-import');
    await client.query('ALTER TABLE messages ENABLE TRIGGER USER');
    await client.query('ALTER TABLE conversation_members DISABLE TRIGGER USER');
    const { rowCount } = await client.query(
      `DELETE FROM conversation_members WHERE id IN (SELECT id FROM conversation_members WHERE role = 'member' ORDER BY id LIMIT 25)`,
    );
    await client.query('ALTER TABLE conversation_members ENABLE TRIGGER USER');
    return `sequence: imported 300 messages with the triggers disabled, removed ${rowCount} members without the member trigger`;
  },
};

const checkpoint: DemoFamily = {
  family: 'checkpoint',
  async setup(client, rows) {
    await client.query(beckettBaseSchemaSql());
    await seedBeckett(client, { groups: 4, subscriptions: 5, checkpoints: rows });
    // The generator includes expired reservations (a `checkpoint.expired` warning); the demo
    // starts from a clean queue so that the first check is all ok.
    await client.query(
      'UPDATE beckett.checkpoints SET reserved_until = NULL WHERE reserved_until <= now()',
    );
    return `checkpoint: Beckett schema with 4 groups x 5 subscriptions, ${rows} checkpoints in every state`;
  },
  async drift(client) {
    // Workers of an old release reserving and releasing straight on checkpoints with the
    // trigger disabled: reservations the hot tables do not know about, and a released one
    // still listed as reserved.
    await client.query('ALTER TABLE beckett.checkpoints DISABLE TRIGGER USER');
    const reserved = await client.query(
      `UPDATE beckett.checkpoints SET reserved_until = now() + interval '1 hour'
        WHERE id IN (SELECT id FROM beckett.checkpoints_ready ORDER BY id LIMIT 10)`,
    );
    const released = await client.query(
      `UPDATE beckett.checkpoints SET reserved_until = NULL
        WHERE id IN (SELECT id FROM beckett.checkpoints_reserved ORDER BY id LIMIT 3)`,
    );
    await client.query('ALTER TABLE beckett.checkpoints ENABLE TRIGGER USER');
    return `checkpoint: ${reserved.rowCount} stale reservations unknown to the hot tables, ${released.rowCount} releases they missed`;
  },
};

const partition: DemoFamily = {
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

/**
 * Skew thresholds for the demo's data: a few thousand collections hashed into 100 partitions put
 * only tens of collections in each, so max/avg sits around 1.4-1.7 however even the collections
 * are. Production defaults (1.1 / 1.2) assume far more collections per partition.
 */
export const DEMO_SKEW = { warn: 2, fail: 3 };

/** Families the demo tours, in registry order. */
export const DEMO_FAMILIES: DemoFamily[] = [lookup, partition, checkpoint, sequence];

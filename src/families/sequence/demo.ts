import type { DemoFamily } from '../types.js';
import { insertNovaMessages, novaBaseSchemaSql, seedNova } from './fixture.js';

/** The demo's base data for this family and the drift it simulates. */
export const sequenceDemo: DemoFamily = {
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

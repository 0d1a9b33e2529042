import type { DemoFamily } from '../types.js';
import { beckettBaseSchemaSql, seedBeckett } from './fixture.js';

/** The demo's base data for this family and the drift it simulates. */
export const checkpointDemo: DemoFamily = {
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

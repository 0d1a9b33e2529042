import type pg from 'pg';
import {
  type QueenSize,
  queenBaseSchemaSql,
  seedQueen,
} from '../../../src/families/lookup/fixture.js';

/**
 * Queen's base schema with seedQueen's data, loaded the fast way: messages' keys and indexes are
 * dropped during the load and rebuilt after it under their original names (a bulk load into
 * indexed random-uuid keys took minutes at 1M rows). The end state is the same schema and data.
 */
export async function seedQueenForBench(client: pg.ClientBase, size: QueenSize): Promise<void> {
  await client.query(queenBaseSchemaSql());
  await client.query(`
    ALTER TABLE queen.messages
      DROP CONSTRAINT messages_pkey,
      DROP CONSTRAINT messages_partition_id_transaction_id_key,
      DROP CONSTRAINT messages_partition_id_fkey;
    DROP INDEX queen.idx_messages_partition_created_id`);
  await seedQueen(client, size);
  await client.query(`SET maintenance_work_mem = '256MB'`);
  await client.query(`
    ALTER TABLE queen.messages
      ADD CONSTRAINT messages_pkey PRIMARY KEY (id),
      ADD CONSTRAINT messages_partition_id_transaction_id_key UNIQUE (partition_id, transaction_id),
      ADD CONSTRAINT messages_partition_id_fkey FOREIGN KEY (partition_id)
          REFERENCES queen.partitions (id) ON DELETE CASCADE;
    CREATE INDEX idx_messages_partition_created_id ON queen.messages (partition_id, created_at, id)`);
  await client.query('RESET maintenance_work_mem');
  await client.query('VACUUM ANALYZE');
}

import type pg from 'pg';
import { migrationSourcesDir, migrationsDir } from '../../paths.js';
import type { FamilyDefinition } from '../types.js';
import { partitionLookupTarget } from './resync.js';

/**
 * Shape checks beyond tables and columns: the foreign keys partition_lookup declares need a
 * unique queues.name and a primary key on partitions.id; and the names the family creates must
 * be free (Queen's own schema script creates partition_lookup too: dbops refuses to adopt a table
 * it did not create, instead of failing half-way).
 */
const LOOKUP_SHAPE = `
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1)
SELECT 'queues.name has no unique constraint (partition_lookup.queue_name references it)' AS problem
 WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid, ns
                    WHERE c.relnamespace = ns.oid AND c.relname = 'queues' AND k.contype IN ('u', 'p')
                      AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                             WHERE attrelid = c.oid AND attname = 'name')])
UNION ALL
SELECT format('%s already exists but lookup is not applied (created by Queen''s own script?): drop it, then run dbops migrate up lookup', name)
  FROM (SELECT c.relname::text AS name FROM pg_class c, ns
         WHERE c.relnamespace = ns.oid AND c.relname = 'partition_lookup'
        UNION ALL
        SELECT p.proname || '()' FROM pg_proc p, ns
         WHERE p.pronamespace = ns.oid AND p.proname = 'update_partition_lookup_trigger'
        UNION ALL
        SELECT 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid, ns
         WHERE c.relnamespace = ns.oid AND t.tgname = 'trg_update_partition_lookup') taken`;

async function lookupPreflight(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ problem: string }>(LOOKUP_SHAPE, [schema]);
  return rows.map((r) => `${schema}: ${r.problem}`);
}

/** Queen's partition_lookup: newest message per partition, kept by a statement-level trigger. */
export const lookupFamily: FamilyDefinition = {
  name: 'lookup',
  title: "Queen's queen.partition_lookup (newest message per partition)",
  migrationsDir: migrationsDir('lookup'),
  sourcesDir: migrationSourcesDir('lookup'),
  baseTables: [
    { table: 'queues', columns: ['id', 'name'] },
    { table: 'partitions', columns: ['id', 'queue_id', 'name'] },
    { table: 'messages', columns: ['id', 'partition_id', 'created_at'] },
  ],
  preflight: lookupPreflight,
  resyncTargets: [partitionLookupTarget],
  loadDemo: () => import('./demo.js').then((m) => m.lookupDemo),
};

import { migrationSourcesDir, migrationsDir } from '../../paths.js';
import type { FamilyDefinition } from '../types.js';

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
  // Loaded when a migration runs: check and resync, which load the registry too, never need it.
  preflight: (client, schema) =>
    import('./preflight.js').then((m) => m.lookupPreflight(client, schema)),
  resyncTargetNames: ['partition-lookup'],
  loadResyncTargets: () => import('./resync.js').then((m) => [m.partitionLookupTarget]),
  loadDemo: () => import('./demo.js').then((m) => m.lookupDemo),
};

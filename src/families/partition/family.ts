import { migrationSourcesDir, migrationsDir } from '../../paths.js';
import type { FamilyDefinition } from '../types.js';

/** Semantik's chunks: 16 HASH partitions moved, online and reversibly, to 100 LIST partitions. */
export const partitionFamily: FamilyDefinition = {
  name: 'partition',
  title: "Semantik's chunks from 16 HASH to 100 LIST partitions (every row kept)",
  migrationsDir: migrationsDir('partition'),
  sourcesDir: migrationSourcesDir('partition'),
  baseTables: [
    { table: 'collections', columns: ['id'] },
    { table: 'documents', columns: ['id', 'collection_id'] },
    {
      table: 'chunks',
      columns: ['id', 'collection_id', 'document_id', 'chunk_index', 'content', 'created_at'],
    },
  ],
  // Loaded when a migration runs: check and resync, which load the registry too, never need it.
  preflight: (client, schema) =>
    import('./online/shape.js').then((m) => m.findChunksShapeProblems(client, schema)),
  resyncTargetNames: ['chunking-stats'],
  loadResyncTargets: () => import('./resync.js').then((m) => [m.chunkingStatsTarget]),
  loadDemo: () => import('./demo.js').then((m) => m.partitionDemo),
};

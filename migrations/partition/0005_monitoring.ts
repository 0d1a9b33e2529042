/**
 * partition 0005: the seed's monitoring objects on the live 100-LIST chunks, with its bugs fixed
 * (see src/families/partition/online/monitoring.ts): partition_health, partition_distribution, the thresholds
 * table they share, collection_chunking_stats with its unique index, get_partition_for_collection,
 * analyze_partition_skew, refresh_collection_chunking_stats. One transaction; it only reads chunks
 * (ACCESS SHARE: writers are not blocked), once, to fill the materialized view.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import {
  ANALYZE_SKEW_BODY,
  CREATE_MONITORING,
  DROP_MONITORING,
  GET_PARTITION_BODY,
  REFRESH_STATS_BODY,
} from '../../src/families/partition/online/monitoring.js';

export const installs: SchemaManifest = {
  tables: [
    {
      name: 'partition_skew_thresholds',
      columns: ['only_row', 'warn', 'fail', 'hot', 'cold', 'dead_ratio'],
    },
  ],
  views: ['partition_health', 'partition_distribution'],
  materializedViews: ['collection_chunking_stats'],
  indexes: [{ name: 'ix_collection_chunking_stats_id', table: 'collection_chunking_stats' }],
  functions: [
    { name: 'get_partition_for_collection', body: GET_PARTITION_BODY },
    { name: 'analyze_partition_skew', body: ANALYZE_SKEW_BODY },
    { name: 'refresh_collection_chunking_stats', body: REFRESH_STATS_BODY },
  ],
};

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(CREATE_MONITORING);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(DROP_MONITORING);
}

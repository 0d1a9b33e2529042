/**
 * partition 0005: the seed's monitoring objects on the live 100-LIST chunks, with its bugs fixed
 * (see src/families/partition/online/monitoring.ts): partition_health, partition_distribution, the thresholds
 * table they share, collection_chunking_stats with its unique index, get_partition_for_collection,
 * analyze_partition_skew, refresh_collection_chunking_stats. One transaction; it only reads chunks
 * (ACCESS SHARE: writers are not blocked), once, to fill the materialized view.
 *
 * Semantik's own collection_chunking_stats, analyze_partition_skew() and
 * refresh_collection_chunking_stats() (and views partition_health, partition_distribution and
 * get_partition_for_collection(varchar), should a deployment have its own) are adopted: their definitions (the materialized view's
 * with its indexes, owner and grants) saved in dbops.adopted in the same transaction, then
 * replaced. Down drops the family's versions and runs the saved originals again (the materialized
 * view is recomputed from chunks). Down first refuses, changing nothing, when chunks has objects
 * added after up that the move back could not carry (see downGuard.ts).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { assertNothingAddedSinceUp } from '../../src/families/partition/online/downGuard.js';
import {
  ANALYZE_SKEW_BODY,
  CREATE_MONITORING,
  DROP_MONITORING,
  GET_PARTITION_BODY,
  REFRESH_STATS_BODY,
} from '../../src/families/partition/online/monitoring.js';
import { loadLayouts } from '../../src/families/partition/online/move.js';
import {
  definitionOf,
  materializedViewDefinition,
  restoreOriginalSql,
  saveOriginalSql,
} from '../../src/migrate/adopt.js';
import type { MigrationContext } from '../../src/migrate/context.js';

/**
 * Semantik's own objects of the names 0005 creates, and how each is saved (see adopt.ts), in
 * the order they are restored (a view after the view it may read); they are dropped in reverse.
 */
const ADOPTABLE = [
  ...['partition_health', 'partition_distribution'].map((view) => ({
    kind: 'view' as const,
    name: view,
    exists: `SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('${view}') AND relkind = 'v') AS ok`,
    save: definitionOf('view', view),
    drop: `DROP VIEW ${view}`,
  })),
  {
    kind: 'function' as const,
    name: 'get_partition_for_collection(varchar)',
    exists: `SELECT to_regprocedure('get_partition_for_collection(varchar)') IS NOT NULL AS ok`,
    save: `pg_get_functiondef('get_partition_for_collection(varchar)'::regprocedure)`,
    drop: 'DROP FUNCTION get_partition_for_collection(varchar)',
  },
  {
    kind: 'materialized view' as const,
    name: 'collection_chunking_stats',
    exists: `SELECT to_regclass('collection_chunking_stats') IS NOT NULL AS ok`,
    save: materializedViewDefinition('collection_chunking_stats'),
    drop: 'DROP MATERIALIZED VIEW collection_chunking_stats',
  },
  ...['analyze_partition_skew()', 'refresh_collection_chunking_stats()'].map((fn) => ({
    kind: 'function' as const,
    name: fn,
    exists: `SELECT to_regprocedure('${fn}') IS NOT NULL AS ok`,
    save: `pg_get_functiondef('${fn}'::regprocedure)`,
    drop: `DROP FUNCTION ${fn}`,
  })),
];

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
  const adopted = [];
  for (const object of ADOPTABLE) {
    const [row] = (await pgm.db.select(object.exists)) as { ok: boolean }[];
    if (!row?.ok) continue;
    pgm.sql(saveOriginalSql('partition', object.kind, object.name, object.save));
    adopted.push(object);
  }
  for (const object of adopted.reverse()) pgm.sql(object.drop);
  pgm.sql(CREATE_MONITORING);
}

export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  const { list } = await loadLayouts(pgm.db, ctx.schema);
  await assertNothingAddedSinceUp(pgm.db, ctx.schema, list);
  pgm.sql(DROP_MONITORING);
  for (const object of ADOPTABLE)
    pgm.sql(restoreOriginalSql('partition', object.kind, object.name));
}

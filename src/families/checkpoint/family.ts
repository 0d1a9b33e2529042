import type pg from 'pg';
import { migrationSourcesDir, migrationsDir } from '../../paths.js';
import type { FamilyDefinition, PreflightResult } from '../types.js';

/**
 * Everything the three migrations rely on, read from the catalog in one round (shape.ts): how
 * checkpoints name their subscription, the real types of the columns the hot tables, triggers and
 * functions carry (retries as jsonb or as an array of Beckett's composite retry), the enums'
 * labels, and that no name the family creates exists yet (Beckett 0.23 lost an index to a name
 * clash). Notes say which shape was found.
 */
async function checkpointPreflight(
  client: pg.ClientBase,
  schema: string,
): Promise<PreflightResult> {
  // Loaded here: check and resync, which load the registry too, never run a preflight.
  const { readCheckpointShape } = await import('./shape.js');
  const { problems, notes } = await readCheckpointShape(client, schema, { beforeCreate: true });
  return { problems: problems.map((p) => `${schema}: ${p}`), notes };
}

/** Beckett's checkpoints: ready/reserved hot tables kept in step by a trigger, reserve functions. */
export const checkpointFamily: FamilyDefinition = {
  name: 'checkpoint',
  title: "Beckett's beckett.checkpoints_ready / checkpoints_reserved (hot tables for reservation)",
  migrationsDir: migrationsDir('checkpoint'),
  sourcesDir: migrationSourcesDir('checkpoint'),
  // The columns every Beckett shape has; how checkpoints reach their subscription (subscription_id
  // and subscription_groups, or group_name + name) is read by the preflight.
  baseTables: [
    { table: 'subscriptions', columns: ['status', 'replay_target_position'] },
    {
      table: 'checkpoints',
      columns: [
        'id',
        'stream_name',
        'stream_version',
        'stream_position',
        'process_at',
        'reserved_until',
        'retry_attempts',
        'lagging',
        'status',
        'retries',
      ],
    },
  ],
  preflight: checkpointPreflight,
  resyncTargetNames: ['checkpoints'],
  loadResyncTargets: () => import('./resync.js').then((m) => [m.checkpointsTarget]),
  loadDemo: () => import('./demo.js').then((m) => m.checkpointDemo),
};

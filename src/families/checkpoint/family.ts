import type pg from 'pg';
import { migrationSourcesDir, migrationsDir } from '../../paths.js';
import type { FamilyDefinition } from '../types.js';
import { checkpointsTarget } from './resync.js';

/**
 * Shape checks beyond tables and columns: what the hot tables' foreign keys and the eligibility
 * rule rely on, and the names the family creates (Beckett 0.23 lost an index to a name clash, so a
 * leftover is refused up front instead of half-applied).
 */
const CHECKPOINT_SHAPE = `
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
ckpt AS (SELECT c.oid FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relname = 'checkpoints')
SELECT 'checkpoints.id is not the primary key (the hot tables reference it)' AS problem
 WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k, ckpt
                    WHERE k.conrelid = ckpt.oid AND k.contype = 'p'
                      AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                             WHERE attrelid = ckpt.oid AND attname = 'id')])
UNION ALL
SELECT 'checkpoints.lagging is not the generated column stream_version > stream_position'
 WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a, ckpt
                    WHERE a.attrelid = ckpt.oid AND a.attname = 'lagging' AND a.attgenerated = 's')
UNION ALL
SELECT format('enum checkpoint_status lacks %L', l)
  FROM unnest(ARRAY['active', 'retry', 'failed']) l
 WHERE NOT EXISTS (SELECT 1 FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid, ns
                    WHERE t.typnamespace = ns.oid AND t.typname = 'checkpoint_status'
                      AND e.enumlabel = l)
UNION ALL
SELECT format('%s already exists (left by an earlier upgrade?); drop it or restore the base schema', c.relname)
  FROM pg_class c, ns
 WHERE c.relnamespace = ns.oid
   AND c.relname IN ('checkpoints_ready', 'checkpoints_reserved', 'checkpoints_ready_process_at_idx',
                     'checkpoints_reserved_reserved_until_idx')`;

async function checkpointPreflight(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ problem: string }>(CHECKPOINT_SHAPE, [schema]);
  return rows.map((r) => `${schema}: ${r.problem}`);
}

/** Beckett's checkpoints: ready/reserved hot tables kept in step by a trigger, reserve functions. */
export const checkpointFamily: FamilyDefinition = {
  name: 'checkpoint',
  title: "Beckett's beckett.checkpoints_ready / checkpoints_reserved (hot tables for reservation)",
  migrationsDir: migrationsDir('checkpoint'),
  sourcesDir: migrationSourcesDir('checkpoint'),
  baseTables: [
    { table: 'subscription_groups', columns: ['id', 'name'] },
    {
      table: 'subscriptions',
      columns: ['id', 'subscription_group_id', 'status', 'replay_target_position'],
    },
    {
      table: 'checkpoints',
      columns: [
        'id',
        'subscription_id',
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
  resyncTargets: [checkpointsTarget],
  loadDemo: () => import('./demo.js').then((m) => m.checkpointDemo),
};

import type pg from 'pg';
import {
  type ColumnInfo,
  columnOf,
  readCatalog,
  type TableSnapshot,
} from '../../catalog/snapshot.js';
import { PreconditionError } from '../../errors.js';
import {
  baseTypeName,
  CREATED_FUNCTIONS,
  CREATED_RELATIONS,
  checkCheckpoints,
  checkEnumLabels,
  clashes,
  readKeying,
  readRetries,
} from './shapeRules.js';

/**
 * What the checkpoint family needs to know about one Beckett schema, read from the catalog:
 * how a checkpoint names its subscription, and the real types of the columns the family's
 * tables, triggers and functions carry. Beckett exists in (at least) two shapes: the
 * checkpoint-optimizations branch (subscription_groups, integer subscription ids, checkpoints
 * keyed by subscription_id) and the released v0.21.x line (subscriptions keyed by
 * (group_name, name), checkpoints carrying both, no foreign keys); `retries` is jsonb in dbops'
 * simplified fixture and an array of the composite beckett.retry in both real ones.
 */
export interface CheckpointShape {
  /** 'id': checkpoints.subscription_id -> subscriptions.id -> subscription_groups.name. */
  keying: 'id' | 'names';
  /** Checkpoint columns naming its subscription (returned by reserve), with their types. */
  keyColumns: { name: string; type: string }[];
  types: {
    id: string;
    streamName: string;
    streamPosition: string;
    streamVersion: string;
    retryAttempts: string;
    status: string;
    processAt: string;
    reservedUntil: string;
    retries: string;
    subscriptionStatus: string;
    replayTargetPosition: string;
  };
  /** How record_error appends an entry to `retries`. */
  retries:
    | { kind: 'jsonb' }
    | { kind: 'composite-array'; element: string; attributes: string[]; errorType: string };
}

const TABLES = ['subscription_groups', 'subscriptions', 'checkpoints'];

export interface ShapeReading {
  shape: CheckpointShape | null;
  problems: string[];
  notes: string[];
}

/**
 * Reads the shape, or every reason the family cannot be carried on this schema (all in one
 * round; absent tables are tolerated). `beforeCreate` (the preflight) also refuses names the
 * family would create that exist already. Two catalog reads: tables, then the types
 * the columns name.
 */
export async function readCheckpointShape(
  client: pg.ClientBase,
  schema: string,
  options: { beforeCreate?: boolean } = {},
): Promise<ShapeReading> {
  const cat = await readCatalog(client, schema, {
    tables: [...TABLES, ...CREATED_RELATIONS],
    functions: CREATED_FUNCTIONS,
  });
  const ck = cat.tables.get('checkpoints');
  const subs = cat.tables.get('subscriptions');
  const typeNames = [ck, subs]
    .flatMap((t) => t?.columns ?? [])
    .filter((c) => ['status', 'retries'].includes(c.name))
    .map((c) => baseTypeName(c.type));
  const types = (await readCatalog(client, schema, { tables: [], types: typeNames })).types;
  const problems: string[] = [];
  const notes: string[] = [];
  // Missing tables and the columns every shape has are the engine's base check (baseTables in
  // family.ts); they are not reported twice. Without them there is no shape to build.
  const need = (table: TableSnapshot | undefined, name: string) => columnOf(table, name);
  let complete = Boolean(ck && subs);

  const cols = Object.fromEntries(
    [
      'id',
      'stream_name',
      'stream_position',
      'stream_version',
      'retry_attempts',
      'status',
      'process_at',
      'reserved_until',
      'retries',
      'lagging',
    ].map((n) => [n, need(ck, n)]),
  ) as Record<string, ColumnInfo | undefined>;
  const subStatus = need(subs, 'status');
  const replay = need(subs, 'replay_target_position');

  checkCheckpoints(ck, cols, types, problems, notes);
  const keyed = readKeying(cat, schema, problems, notes);
  const retries = readRetries(cols.retries, types, problems, notes);
  if (subStatus) checkEnumLabels(subStatus, types, ['active', 'replay'], problems);
  // Before 0001, every name the three migrations create must be free; once they run, they are ours.
  if (options.beforeCreate) clashes(cat, ck, problems);

  complete &&= Object.values(cols).every(Boolean) && Boolean(subStatus && replay);
  if (problems.length > 0 || !complete || !keyed || !retries)
    return { shape: null, problems, notes };
  const t = (c: ColumnInfo | undefined) => c!.type;
  return {
    shape: {
      ...keyed,
      types: {
        id: t(cols.id),
        streamName: t(cols.stream_name),
        streamPosition: t(cols.stream_position),
        streamVersion: t(cols.stream_version),
        retryAttempts: t(cols.retry_attempts),
        status: t(cols.status),
        processAt: t(cols.process_at),
        reservedUntil: t(cols.reserved_until),
        retries: t(cols.retries),
        subscriptionStatus: t(subStatus),
        replayTargetPosition: t(replay),
      },
      retries,
    },
    problems,
    notes,
  };
}

/**
 * The shape, or a refusal (exit 2) naming every problem, as the preflight would: migrations read
 * the shape themselves, so a run that bypassed the preflight still fails before changing anything.
 */
export async function requireCheckpointShape(
  client: pg.ClientBase,
  schema: string,
  options: { beforeCreate?: boolean } = {},
): Promise<CheckpointShape> {
  const { shape, problems } = await readCheckpointShape(client, schema, options);
  if (!shape || problems.length > 0)
    throw new PreconditionError(
      `${schema}: the checkpoint family cannot be built on this schema:\n  ${problems.map((p) => `${schema}: ${p}`).join('\n  ') || 'base tables or columns are missing'}`,
    );
  return shape;
}

/** node-pg-migrate's pgm.db as the client readCatalog takes (it only calls query). */
export function migrationClient(db: {
  query: (text: string, values?: unknown[]) => Promise<unknown>;
}): pg.ClientBase {
  return {
    query: (text: string, values?: unknown[]) => db.query(text, values),
  } as unknown as pg.ClientBase;
}

import type pg from 'pg';
import {
  type CatalogSnapshot,
  type ColumnInfo,
  columnOf,
  readCatalog,
  type TableSnapshot,
} from '../../catalog/snapshot.js';
import { PreconditionError } from '../../errors.js';

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

/** Names the family creates: a clash with any of them would leave the family half-applied. */
export const CREATED_RELATIONS = [
  'checkpoints_ready',
  'checkpoints_reserved',
  'checkpoints_ready_process_at_idx',
  'checkpoints_reserved_reserved_until_idx',
];
export const CREATED_FUNCTIONS = [
  'checkpoint_is_ready',
  'checkpoint_hot_tables',
  'checkpoint_reserve_next',
  'checkpoint_release',
  'checkpoint_record_success',
  'checkpoint_record_error',
  'checkpoint_recover_expired',
  'checkpoint_skip',
];
export const CREATED_TRIGGERS = ['checkpoint_hot_tables_insert', 'checkpoint_hot_tables_update'];

const TABLES = ['subscription_groups', 'subscriptions', 'checkpoints'];

/** `beckett.retry[]` / `"Retry"[]` / `retry` -> the bare type name `retry` / `Retry`. */
export function baseTypeName(type: string): string {
  const bare = type.replace(/\[\]$/, '');
  const last = bare.match(/(?:"((?:[^"]|"")+)"|([^."]+))$/);
  return last?.[1]?.replace(/""/g, '"') ?? last?.[2] ?? bare;
}

/** True when the table has a unique index or constraint on exactly `columns` (in any order). */
function uniqueOn(table: TableSnapshot, columns: string[]): boolean {
  return table.indexes.some(
    (i) =>
      i.unique &&
      !i.partial &&
      i.valid &&
      i.columns.length === columns.length &&
      columns.every((c) => i.columns.includes(c)),
  );
}

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

const INTEGERS = ['smallint', 'integer', 'bigint'];
const TIMESTAMPS = ['timestamp with time zone', 'timestamp without time zone'];

function checkCheckpoints(
  ck: TableSnapshot | undefined,
  cols: Record<string, ColumnInfo | undefined>,
  types: CatalogSnapshot['types'],
  problems: string[],
  notes: string[],
): void {
  if (!ck) return;
  if (!ck.constraints.some((k) => k.type === 'p' && k.columns.join() === 'id'))
    problems.push('checkpoints.id is not the primary key (the hot tables reference it)');
  if (cols.id && !INTEGERS.includes(cols.id.type))
    problems.push(`checkpoints.id is ${cols.id.type}, not an integer type`);
  if (cols.lagging && cols.lagging.generated !== 's')
    problems.push(
      'checkpoints.lagging is not the generated column stream_version > stream_position',
    );
  for (const name of ['process_at', 'reserved_until']) {
    const c = cols[name];
    if (c && !TIMESTAMPS.includes(c.type))
      problems.push(`checkpoints.${name} is ${c.type}, not a timestamp`);
  }
  if (cols.retry_attempts && !INTEGERS.includes(cols.retry_attempts.type))
    problems.push(`checkpoints.retry_attempts is ${cols.retry_attempts.type}, not an integer type`);
  if (cols.status) {
    checkEnumLabels(cols.status, types, ['active', 'retry', 'failed'], problems);
    if (types.get(baseTypeName(cols.status.type))?.kind === 'e')
      notes.push(`checkpoints.status is the enum ${cols.status.type}`);
  }
  const preprocessor = ck.triggers.find((g) => g.function.endsWith('checkpoint_preprocessor'));
  if (preprocessor)
    notes.push(
      `Beckett's trigger ${preprocessor.name} (${preprocessor.function}) is left as it is: the hot tables are written by AFTER row triggers from its final row`,
    );
}

function checkEnumLabels(
  col: ColumnInfo,
  types: CatalogSnapshot['types'],
  labels: string[],
  problems: string[],
): void {
  const type = types.get(baseTypeName(col.type));
  if (type?.kind !== 'e') return; // text works as well: the labels are compared as literals
  for (const l of labels.filter((l) => !type.details.includes(l)))
    problems.push(`enum ${col.type} (of ${col.name}) lacks '${l}'`);
}

/** How checkpoints name their subscription, and how subscriptions reach their group. */
function readKeying(
  cat: CatalogSnapshot,
  schema: string,
  problems: string[],
  notes: string[],
): Pick<CheckpointShape, 'keying' | 'keyColumns'> | null {
  const ck = cat.tables.get('checkpoints');
  const subs = cat.tables.get('subscriptions');
  const groups = cat.tables.get('subscription_groups');
  if (!ck || !subs) return null;
  const col = (t: TableSnapshot, n: string) => columnOf(t, n);
  if (col(ck, 'subscription_id')) {
    const missing = [
      !col(subs, 'id') && 'subscriptions.id',
      !col(subs, 'subscription_group_id') && 'subscriptions.subscription_group_id',
      !groups && `table ${schema}.subscription_groups`,
      groups && !col(groups, 'id') && 'subscription_groups.id',
      groups && !col(groups, 'name') && 'subscription_groups.name',
    ].filter(Boolean);
    if (missing.length > 0) {
      problems.push(`checkpoints are keyed by subscription_id, but ${missing.join(', ')} missing`);
      return null;
    }
    if (!uniqueOn(subs, ['id'])) problems.push('subscriptions.id is not unique');
    if (groups && !uniqueOn(groups, ['id'])) problems.push('subscription_groups.id is not unique');
    notes.push(
      'checkpoints keyed by subscription_id (subscriptions.id -> subscription_groups.name): reserve returns subscription_id',
    );
    return {
      keying: 'id',
      keyColumns: [{ name: 'subscription_id', type: col(ck, 'subscription_id')!.type }],
    };
  }
  const names = ['group_name', 'name'];
  if (names.every((n) => col(ck, n) && col(subs, n))) {
    if (!uniqueOn(subs, names)) problems.push('subscriptions (group_name, name) is not unique');
    notes.push(
      'checkpoints keyed by (group_name, name), joined to subscriptions on both: reserve returns group_name, name',
    );
    return { keying: 'names', keyColumns: names.map((n) => ({ name: n, type: col(ck, n)!.type })) };
  }
  problems.push(
    'checkpoints name their subscription neither by subscription_id nor by (group_name, name) shared with subscriptions',
  );
  return null;
}

/** What record_error appends: a jsonb object, or a ROW of the array's composite element type. */
function readRetries(
  col: ColumnInfo | undefined,
  types: CatalogSnapshot['types'],
  problems: string[],
  notes: string[],
): CheckpointShape['retries'] | null {
  if (!col) return null;
  if (col.type === 'jsonb') {
    notes.push('retries is jsonb: error recording appends {attempt, error, timestamp} objects');
    return { kind: 'jsonb' };
  }
  const element = types.get(baseTypeName(col.type));
  if (!col.type.endsWith('[]') || element?.kind !== 'c') {
    problems.push(`checkpoints.retries is ${col.type}: neither jsonb nor an array of a composite`);
    return null;
  }
  const attributes = element.details.map((d) => d.slice(0, d.indexOf(' ')));
  const typeOf = (a: string) =>
    element.details.find((d) => d.startsWith(`${a} `))?.slice(a.length + 1);
  const missing = ['attempt', 'error', 'timestamp'].filter((a) => !attributes.includes(a));
  if (missing.length > 0) {
    problems.push(
      `${col.type} lacks attribute(s) ${missing.join(', ')} (error recording fills them)`,
    );
    return null;
  }
  notes.push(
    `retries is ${col.type}: error recording appends retry entries of that type (attempt, error ${typeOf('error')}, timestamp)`,
  );
  return {
    kind: 'composite-array',
    element: col.type.slice(0, -2),
    attributes,
    errorType: typeOf('error')!,
  };
}

/** Names the family creates that exist already (left by an earlier upgrade?). */
function clashes(cat: CatalogSnapshot, ck: TableSnapshot | undefined, problems: string[]): void {
  for (const name of CREATED_RELATIONS.filter((n) => cat.relations.has(n)))
    problems.push(
      `${name} already exists (left by an earlier upgrade?); drop it or restore the base schema`,
    );
  for (const fn of new Set(cat.functions.map((f) => f.name)))
    problems.push(`function ${fn} already exists; drop it or restore the base schema`);
  for (const trg of ck?.triggers.filter((t) => CREATED_TRIGGERS.includes(t.name)) ?? [])
    problems.push(`trigger ${trg.name} already exists on checkpoints`);
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

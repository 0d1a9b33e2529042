import type { CatalogSnapshot, ColumnInfo, TableSnapshot } from '../../catalog/snapshot.js';
import { columnOf } from '../../catalog/snapshot.js';
import type { CheckpointShape } from './shape.js';

/**
 * The rules readCheckpointShape (shape.ts) applies to the catalog: each pushes one line per
 * problem (and plan notes) and returns what it read, so the preflight reports everything at once.
 */

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

const INTEGERS = ['smallint', 'integer', 'bigint'];
const TIMESTAMPS = ['timestamp with time zone', 'timestamp without time zone'];

export function checkCheckpoints(
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

export function checkEnumLabels(
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
export function readKeying(
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
export function readRetries(
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
export function clashes(
  cat: CatalogSnapshot,
  ck: TableSnapshot | undefined,
  problems: string[],
): void {
  for (const name of CREATED_RELATIONS.filter((n) => cat.relations.has(n)))
    problems.push(
      `${name} already exists (left by an earlier upgrade?); drop it or restore the base schema`,
    );
  for (const fn of new Set(cat.functions.map((f) => f.name)))
    problems.push(`function ${fn} already exists; drop it or restore the base schema`);
  for (const trg of ck?.triggers.filter((t) => CREATED_TRIGGERS.includes(t.name)) ?? [])
    problems.push(`trigger ${trg.name} already exists on checkpoints`);
}

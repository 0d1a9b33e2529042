import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import type { MigrationFamily } from '../families/types.js';
import type { DbopsMigration } from '../migrate/context.js';
import { listMigrationFiles } from '../migrate/files.js';
import type { AppliedMigration } from '../migrate/history.js';
import type { SchemaManifest, TriggerSpec } from './manifest.js';

/**
 * The `installs` manifests of the family's applied migrations (its history, as read), in the
 * order they were applied.
 */
export async function appliedManifests(
  family: MigrationFamily,
  history: AppliedMigration[],
): Promise<SchemaManifest[]> {
  const files = new Map(listMigrationFiles(family).map((f) => [f.name, f]));
  const manifests: SchemaManifest[] = [];
  for (const applied of history) {
    const file = files.get(applied.name);
    if (!file) continue;
    const mod = (await import(pathToFileURL(file.path).href)) as DbopsMigration;
    if (mod.installs) manifests.push(mod.installs);
  }
  return manifests;
}

/** Merges manifests; a later migration's object of the same name replaces the earlier one. */
export function mergeManifests(
  manifests: SchemaManifest[],
): Required<Omit<SchemaManifest, 'listPartitions'>> & Pick<SchemaManifest, 'listPartitions'> {
  const byName = <T extends { name: string }>(lists: (T[] | undefined)[]) => [
    ...new Map(
      lists
        .flat()
        .filter((x): x is T => !!x)
        .map((x) => [x.name, x]),
    ).values(),
  ];
  return {
    tables: byName(manifests.map((m) => m.tables)),
    columns: manifests.flatMap((m) => m.columns ?? []),
    indexes: byName(manifests.map((m) => m.indexes)),
    triggers: byName(manifests.map((m) => m.triggers)),
    functions: byName(manifests.map((m) => m.functions)),
    views: [...new Set(manifests.flatMap((m) => m.views ?? []))],
    materializedViews: [...new Set(manifests.flatMap((m) => m.materializedViews ?? []))],
    listPartitions: manifests
      .map((m) => m.listPartitions)
      .filter(Boolean)
      .at(-1),
  };
}

/** One line per difference between the catalog and what the manifests say was installed. */
export async function schemaProblems(
  client: pg.ClientBase,
  schema: string,
  manifests: SchemaManifest[],
): Promise<string[]> {
  const m = mergeManifests(manifests);
  const problems: string[] = [];
  const columns = await columnsOf(client, schema, [
    ...m.tables.map((t) => t.name),
    ...m.columns.map((c) => c.table),
  ]);
  for (const t of m.tables) {
    if (!columns.has(t.name)) problems.push(`table ${t.name} is missing`);
    else problems.push(...missingColumns(t.name, t.columns, columns.get(t.name)!));
  }
  for (const c of m.columns) {
    if (columns.has(c.table))
      problems.push(...missingColumns(c.table, c.columns, columns.get(c.table)!));
  }
  problems.push(...(await indexProblems(client, schema, m.indexes)));
  problems.push(...(await triggerProblems(client, schema, m.triggers)));
  problems.push(...(await functionProblems(client, schema, m.functions)));
  problems.push(...(await relationProblems(client, schema, m.views, 'v', 'view')));
  problems.push(
    ...(await relationProblems(client, schema, m.materializedViews, 'm', 'materialized view')),
  );
  if (m.listPartitions)
    problems.push(...(await partitionProblems(client, schema, m.listPartitions)));
  return problems;
}

function missingColumns(table: string, expected: string[], present: Set<string>): string[] {
  return expected.filter((c) => !present.has(c)).map((c) => `column ${table}.${c} is missing`);
}

async function columnsOf(
  client: pg.ClientBase,
  schema: string,
  tables: string[],
): Promise<Map<string, Set<string>>> {
  const { rows } = await client.query<{ table: string; column: string | null }>(
    `SELECT c.relname AS table, a.attname AS column
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relname = ANY ($2) AND c.relkind IN ('r', 'p')`,
    [schema, tables],
  );
  const map = new Map<string, Set<string>>();
  for (const r of rows) {
    const set = map.get(r.table) ?? new Set<string>();
    if (r.column) set.add(r.column);
    map.set(r.table, set);
  }
  return map;
}

async function indexProblems(
  client: pg.ClientBase,
  schema: string,
  indexes: { name: string; table: string }[],
): Promise<string[]> {
  const { rows } = await client.query<{
    index: string;
    table: string;
    valid: boolean;
    ready: boolean;
  }>(
    `SELECT ic.relname AS index, tc.relname AS table, i.indisvalid AS valid, i.indisready AS ready
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname = $1 AND ic.relname = ANY ($2)`,
    [schema, indexes.map((i) => i.name)],
  );
  const found = new Map(rows.map((r) => [r.index, r]));
  return indexes.flatMap((want) => {
    const got = found.get(want.name);
    if (!got) return [`index ${want.name} is missing`];
    if (got.table !== want.table)
      return [`index ${want.name} is on ${got.table}, expected ${want.table}`];
    if (!got.valid || !got.ready)
      return [`index ${want.name} is invalid (indisvalid = false): rebuild it`];
    return [];
  });
}

const TG_ROW = 1;
const TG_BEFORE = 2;
const TG_INSTEAD = 64;
const TG_EVENTS = { INSERT: 4, DELETE: 8, UPDATE: 16, TRUNCATE: 32 } as const;

async function triggerProblems(
  client: pg.ClientBase,
  schema: string,
  triggers: TriggerSpec[],
): Promise<string[]> {
  const { rows } = await client.query<{
    name: string;
    table: string;
    tgtype: number;
    enabled: string;
    fn: string;
    newtable: string | null;
  }>(
    `SELECT t.tgname AS name, c.relname AS table, t.tgtype::int AS tgtype, t.tgenabled AS enabled,
            p.proname AS fn, t.tgnewtable AS newtable
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_proc p ON p.oid = t.tgfoid
      WHERE n.nspname = $1 AND t.tgname = ANY ($2) AND NOT t.tgisinternal`,
    [schema, triggers.map((t) => t.name)],
  );
  return triggers.flatMap((want) => {
    const got = rows.find((r) => r.name === want.name && r.table === want.table);
    if (!got) {
      const elsewhere = rows.find((r) => r.name === want.name);
      return [
        elsewhere
          ? `trigger ${want.name} is on ${elsewhere.table}, expected ${want.table}`
          : `trigger ${want.name} on ${want.table} is missing`,
      ];
    }
    const problems: string[] = [];
    if (got.enabled === 'D') problems.push(`trigger ${want.name} is disabled`);
    const timing =
      got.tgtype & TG_INSTEAD ? 'INSTEAD OF' : got.tgtype & TG_BEFORE ? 'BEFORE' : 'AFTER';
    const level = got.tgtype & TG_ROW ? 'ROW' : 'STATEMENT';
    const events = (Object.keys(TG_EVENTS) as (keyof typeof TG_EVENTS)[]).filter(
      (e) => got.tgtype & TG_EVENTS[e],
    );
    if (timing !== want.timing)
      problems.push(`trigger ${want.name} fires ${timing}, expected ${want.timing}`);
    if (level !== want.level)
      problems.push(`trigger ${want.name} is FOR EACH ${level}, expected ${want.level}`);
    if ([...events].sort().join(',') !== [...want.events].sort().join(',')) {
      problems.push(
        `trigger ${want.name} fires on ${events.join(' OR ')}, expected ${want.events.join(' OR ')}`,
      );
    }
    if (got.fn !== want.function)
      problems.push(`trigger ${want.name} calls ${got.fn}, expected ${want.function}`);
    if (want.newTable && got.newtable === null)
      problems.push(`trigger ${want.name} has no transition table (REFERENCING NEW TABLE)`);
    return problems;
  });
}

async function functionProblems(
  client: pg.ClientBase,
  schema: string,
  functions: { name: string; body: string }[],
): Promise<string[]> {
  const { rows } = await client.query<{ name: string; src: string }>(
    `SELECT p.proname AS name, p.prosrc AS src FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND p.proname = ANY ($2)`,
    [schema, functions.map((f) => f.name)],
  );
  return functions.flatMap((want) => {
    const got = rows.filter((r) => r.name === want.name);
    if (got.length === 0) return [`function ${want.name} is missing`];
    if (!got.some((r) => r.src.trim() === want.body.trim())) {
      return [`function ${want.name} has a body that differs from what its migration installed`];
    }
    return [];
  });
}

async function relationProblems(
  client: pg.ClientBase,
  schema: string,
  names: string[],
  relkind: string,
  label: string,
): Promise<string[]> {
  if (names.length === 0) return [];
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY ($2) AND c.relkind = $3`,
    [schema, names, relkind],
  );
  const found = new Set(rows.map((r) => r.name));
  return names.filter((n) => !found.has(n)).map((n) => `${label} ${n} is missing`);
}

async function partitionProblems(
  client: pg.ClientBase,
  schema: string,
  spec: NonNullable<SchemaManifest['listPartitions']>,
): Promise<string[]> {
  const { rows } = await client.query<{ name: string; bound: string; strategy: string | null }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound, pt.partstrat AS strategy
       FROM pg_class parent JOIN pg_namespace n ON n.oid = parent.relnamespace
       LEFT JOIN pg_partitioned_table pt ON pt.partrelid = parent.oid
       LEFT JOIN pg_inherits i ON i.inhparent = parent.oid
       LEFT JOIN pg_class c ON c.oid = i.inhrelid
      WHERE n.nspname = $1 AND parent.relname = $2`,
    [schema, spec.table],
  );
  if (rows.length === 0) return [`partitioned table ${spec.table} is missing`];
  if (rows[0]!.strategy !== 'l') return [`${spec.table} is not partitioned BY LIST`];
  const expected = new Map(
    Array.from({ length: spec.count }, (_, i) => [
      `${spec.prefix}${String(i).padStart(2, '0')}`,
      `FOR VALUES IN (${i})`,
    ]),
  );
  if (spec.defaultPartition) expected.set(spec.defaultPartition, 'DEFAULT');
  const problems: string[] = [];
  for (const r of rows.filter((r) => r.name !== null)) {
    const bound = expected.get(r.name);
    // A key column of a domain type (the partition family's chunk_partition) prints quoted: ('7').
    const actual = r.bound.replace(/'(-?\d+)'/g, '$1');
    if (bound === undefined)
      problems.push(`partition ${r.name} (${r.bound}) is not one of the ${spec.count} expected`);
    else if (bound !== actual)
      problems.push(`partition ${r.name} has bounds ${r.bound}, expected ${bound}`);
    expected.delete(r.name);
  }
  for (const name of expected.keys()) problems.push(`partition ${name} is missing`);
  return problems;
}

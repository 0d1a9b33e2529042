import type pg from 'pg';
import { readCatalog, type TableSnapshot, updateTriggersFor } from '../catalog/snapshot.js';
import { quoteIdent, quoteQualified } from '../db/ident.js';
import { isPgError } from '../errors.js';
import type { BackfillWrite, MigrationFamily } from '../families/types.js';

import { migrationManifests } from './files.js';

/** What the engine decided about the application's triggers for one family's backfills. */
export interface AppTriggerPlan {
  mode: 'replica' | 'fire';
  problems: string[];
  notes: string[];
}

/**
 * Backfills must not fire the application's triggers (Nova's row triggers rewrote its search
 * index on every batch). Where the session may set session_replication_role (superuser, or
 * GRANT SET ON PARAMETER on PostgreSQL 15+), batches run under `replica`; otherwise the
 * triggers an UPDATE of the written columns would fire are named, and the run needs
 * --fire-app-triggers. Then a rehearsal: one UPDATE of one row that sets the written columns to
 * themselves, inside a transaction that is rolled back, as the application would see it (its
 * triggers firing). A trigger that raises is reported before anything changes: as the refusal
 * when the backfill would fire it, as a warning when the backfill runs under `replica`.
 */
export async function planAppTriggers(
  client: pg.ClientBase,
  family: MigrationFamily,
  schema: string,
  fireAppTriggers: boolean,
): Promise<AppTriggerPlan> {
  const writes = family.backfillWrites ?? [];
  const plan: AppTriggerPlan = { mode: 'fire', problems: [], notes: [] };
  if (writes.length === 0) return plan;
  const catalog = await readCatalog(client, schema, { tables: writes.map((w) => w.table) });
  const own = await familyTriggerNames(family);
  const replicaAllowed = await maySetReplicaRole(client);
  plan.mode = replicaAllowed ? 'replica' : 'fire';
  for (const write of writes) {
    const table = catalog.tables.get(write.table);
    if (!table) continue; // the base-table check reports it
    const name = `${schema}.${write.table}`;
    const fired = updateTriggersFor(table, write.columns).filter((t) => !own.has(t.name));
    const list = fired.map((t) => `${t.name} (${t.function})`).join(', ');
    if (fired.length > 0 && replicaAllowed) {
      plan.notes.push(
        `backfill of ${name} runs with session_replication_role = replica: the application's triggers ${list} do not fire on it`,
      );
    } else if (fired.length > 0 && !fireAppTriggers) {
      plan.problems.push(
        `the backfill UPDATEs ${name} (${write.columns.join(', ')}), which fires the application's triggers ${list}, and this session may not set session_replication_role to keep them quiet`,
      );
    } else if (fired.length > 0) {
      plan.notes.push(
        `--fire-app-triggers: the application's triggers ${list} fire on every backfill batch of ${name}`,
      );
    }
    const failure = await rehearse(client, table, write);
    if (failure === undefined) continue;
    const culprit = fired.find((t) =>
      failure.where.includes(`function ${t.function.split('.').pop()}(`),
    );
    const who = culprit ? `trigger ${culprit.name} (${culprit.function})` : 'an UPDATE';
    const line = `rehearsal: ${who} on ${name} fails on UPDATE: ${failure.message}`;
    if (plan.mode === 'replica' && culprit) {
      plan.notes.push(
        `warning: ${line}; every UPDATE of ${name} by the application fails today. dbops' backfill does not fire it (replica role); fix the function in the application`,
      );
    } else plan.problems.push(line);
  }
  if (plan.problems.some((p) => p.includes('session_replication_role'))) {
    plan.problems.push(
      'to keep them quiet: GRANT SET ON PARAMETER session_replication_role TO <this role> (PostgreSQL 15+) or run as a superuser; or let them fire with --fire-app-triggers',
    );
  }
  return plan;
}

/** Names of the triggers the family's own migrations create (from their `installs` manifests). */
async function familyTriggerNames(family: MigrationFamily): Promise<Set<string>> {
  const names = new Set<string>();
  for (const { installs } of await migrationManifests(family))
    for (const t of installs.triggers ?? []) names.add(t.name);
  return names;
}

async function maySetReplicaRole(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ allowed: boolean }>(
    `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         OR (current_setting('server_version_num')::int >= 150000
             AND (SELECT count(*) > 0 FROM pg_parameter_acl a, aclexplode(a.paracl) x
                   WHERE a.parname = 'session_replication_role' AND x.privilege_type = 'SET'
                     AND pg_has_role(current_user, x.grantee, 'MEMBER'))) AS allowed`,
  );
  return rows[0]?.allowed === true;
}

/**
 * One UPDATE of one row, rolled back. It sets the written columns that exist to themselves; when
 * none exists yet (the family adds them), a column no trigger names, so that exactly the
 * triggers the backfill's UPDATE will fire fire.
 */
async function rehearse(
  client: pg.ClientBase,
  table: TableSnapshot,
  write: BackfillWrite,
): Promise<{ message: string; where: string } | undefined> {
  const existing = write.columns.filter((c) => table.columns.some((col) => col.name === c));
  const named = new Set(table.triggers.flatMap((t) => t.updateColumns));
  const generated = new Set(table.columns.filter((c) => c.generated).map((c) => c.name));
  const column =
    existing[0] ??
    table.columns.find((c) => !named.has(c.name) && !generated.has(c.name))?.name ??
    table.columns[0]?.name;
  if (column === undefined) return undefined;
  const qualified = quoteQualified(table.schema, table.name);
  await client.query('SAVEPOINT dbops_rehearsal');
  try {
    await client.query(`SELECT set_config('lock_timeout', '2s', true)`);
    await client.query(
      `UPDATE ${qualified} SET ${quoteIdent(column)} = ${quoteIdent(column)}
        WHERE ctid = (SELECT ctid FROM ${qualified} LIMIT 1)`,
    );
    return undefined;
  } catch (err) {
    if (!isPgError(err)) throw err;
    return {
      message: `${err.message} (SQLSTATE ${err.code})`,
      where: (err as { where?: string }).where ?? '',
    };
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT dbops_rehearsal');
    await client.query('RELEASE SAVEPOINT dbops_rehearsal');
  }
}

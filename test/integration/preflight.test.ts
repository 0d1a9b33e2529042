import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureSession } from '../../src/db/session.js';
import type { MigrationFamily } from '../../src/families/types.js';
import { applyMigrations, type EngineDeps } from '../../src/migrate/engine.js';
import { silentProgress } from '../../src/progress.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const dir = fileURLToPath(new URL('../fixtures/migrations/rehearsal', import.meta.url));

/**
 * A made-up family whose backfill UPDATEs app_table.derived; app_table has an application
 * trigger that raises on every UPDATE (as Nova's sync_message_search_index_on_edit does).
 */
const family: MigrationFamily = {
  name: 'rehearsal',
  title: 'test',
  migrationsDir: dir,
  sourcesDir: dir,
  baseTables: [{ table: 'app_table', columns: ['id', 'payload'] }],
  backfillWrites: [{ table: 'app_table', columns: ['derived'] }],
};

const APP_SCHEMA = `
CREATE TABLE app_table (id int PRIMARY KEY, payload text);
INSERT INTO app_table SELECT g, 'p' || g FROM generate_series(1, 10) g;
CREATE FUNCTION app_breaks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.payload OR NEW.payload THEN RETURN NEW; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER app_breaks_on_update AFTER UPDATE ON app_table FOR EACH ROW EXECUTE FUNCTION app_breaks();`;

let db: TestDatabase;
const role = `dbops_t_app_${process.pid}`;

beforeAll(async () => {
  db = await createTestDatabase('preflight');
  await db.client.query(APP_SCHEMA);
  await db.client.query(`CREATE ROLE ${role} LOGIN`);
  await db.client.query(`ALTER TABLE app_table OWNER TO ${role}`);
  await db.client.query(`GRANT CREATE ON DATABASE ${db.name} TO ${role}`);
  await db.client.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
});
afterAll(async () => {
  await db.drop();
  const admin = new pg.Client({ connectionString: db.url.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect().catch(() => {});
  await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  await admin.end().catch(() => {});
});

async function run(
  client: pg.Client,
  fam: MigrationFamily,
  fireAppTriggers = false,
): ReturnType<typeof applyMigrations> {
  await configureSession(client, { lockTimeoutMs: 2000 });
  const deps: EngineDeps = {
    client,
    settings: { lockRetries: 0, lockTimeoutMs: 2000, batchSize: 100 },
    progress: silentProgress,
    signal: new AbortController().signal,
    lockWaitMs: 1000,
    fireAppTriggers,
  };
  return applyMigrations(deps, [{ def: fam, schema: 'public' }]);
}

async function created(): Promise<boolean> {
  const { rows } = await db.client.query(
    `SELECT to_regclass('rehearsal_created') IS NOT NULL AS e`,
  );
  return rows[0].e;
}

async function asAppRole<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({
    connectionString: db.url.replace('//root@', `//${role}@`).replace('//postgres@', `//${role}@`),
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('preflight: every problem in one round, before anything changes', () => {
  it('reports a missing table, a missing column and the family preflight problems together', async () => {
    const broken: MigrationFamily = {
      ...family,
      baseTables: [
        { table: 'app_table', columns: ['id', 'payload', 'no_such_column'] },
        { table: 'no_such_table', columns: ['id'] },
      ],
      preflight: async () => ({
        problems: ['column app_table.payload is text, expected jsonb', 'index x already exists'],
        notes: [],
      }),
    };
    const result = await run(db.client, broken);
    expect(result.error?.kind).toBe('precondition');
    const message = result.error!.message;
    for (const line of [
      'table public.app_table lacks column(s) no_such_column',
      'table public.no_such_table is missing',
      'column app_table.payload is text, expected jsonb',
      'index x already exists',
    ])
      expect(message).toContain(line);
    expect(result.outcomes).toEqual([]);
    expect(await created()).toBe(false);
  });

  it('as a superuser: backfills run under replica role; the broken application trigger is a warning found by the rehearsal', async () => {
    const result = await run(db.client, family);
    expect(result.error).toBeUndefined();
    const notes = result.notes.join('\n');
    expect(notes).toContain('session_replication_role = replica');
    expect(notes).toContain('app_breaks_on_update (public.app_breaks)');
    expect(notes).toMatch(
      /warning: rehearsal: trigger app_breaks_on_update .* fails on UPDATE: argument of OR must be type boolean/,
    );
    expect(await created()).toBe(true);
    await db.client.query('DROP TABLE rehearsal_created; DROP SCHEMA dbops CASCADE');
  });

  it('a role that may not set session_replication_role is refused, naming the trigger and the fix', async () => {
    const result = await asAppRole((c) => run(c, family));
    expect(result.error?.kind).toBe('precondition');
    expect(result.error!.message).toContain(
      "fires the application's triggers app_breaks_on_update (public.app_breaks)",
    );
    expect(result.error!.message).toContain('--fire-app-triggers');
    expect(await created()).toBe(false);
  });

  it('with --fire-app-triggers the rehearsal refuses: the trigger raises on the UPDATE the backfill would run', async () => {
    const result = await asAppRole((c) => run(c, family, true));
    expect(result.error?.kind).toBe('precondition');
    expect(result.error!.message).toMatch(
      /rehearsal: trigger app_breaks_on_update \(public.app_breaks\) on public.app_table fails on UPDATE: argument of OR must be type boolean/,
    );
    expect(await created()).toBe(false);
    const { rows } = await db.client.query('SELECT count(*)::int AS n FROM app_table');
    expect(rows[0].n).toBe(10);
  });

  it('with --fire-app-triggers and a trigger that works, the run goes ahead and says the triggers fire', async () => {
    await db.client.query(
      `CREATE OR REPLACE FUNCTION app_breaks() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
    );
    const result = await asAppRole((c) => run(c, family, true));
    expect(result.error).toBeUndefined();
    expect(result.notes.join('\n')).toContain(
      "--fire-app-triggers: the application's triggers app_breaks_on_update",
    );
    expect(await created()).toBe(true);
  });
});

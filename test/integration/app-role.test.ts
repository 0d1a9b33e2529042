import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { checkpointDrift, NO_DRIFT } from '../helpers/checkpoint.js';
import { runCli } from '../helpers/cli.js';
import { connectAsAppRole, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { lookupDrift } from '../helpers/lookup.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { dropRoles } from '../helpers/sequenceReal.js';

/**
 * The upstream application writing as its own role: rights on its tables, granted before dbops
 * created its own tables, so none on those. The family's trigger wrote them with the writer's
 * rights and failed every such write; the migration named `fix` makes it run as their owner.
 * Down to the one before puts the function back exactly (the write fails again: the state before).
 */
const FAMILIES = [
  {
    family: 'lookup',
    fixture: 'lookup_real.sql',
    schema: 'queen',
    before: '0002',
    fix: '0003',
    denied: /permission denied for table partition_lookup/,
    // One push into the first partition (Queen's server).
    write: (app: pg.Client, n: number) =>
      app.query(
        `INSERT INTO queen.messages (transaction_id, partition_id, payload)
         SELECT $1, id, '{}' FROM queen.partitions ORDER BY id LIMIT 1`,
        [`app-${n}`],
      ),
    exact: async (db: TestDatabase) => expect(await lookupDrift(db.client)).toBe(0),
  },
  ...['checkpoint_real.sql', 'checkpoint_real_v021.sql'].map((fixture) => ({
    family: 'checkpoint',
    fixture,
    schema: 'beckett',
    before: '0003',
    fix: '0004',
    denied: /permission denied for table checkpoints_/,
    // The lowest-id checkpoint made due now (Beckett's writer; the hot-table trigger fires).
    write: (app: pg.Client) =>
      app.query(
        `UPDATE beckett.checkpoints SET process_at = now() - interval '1 second', reserved_until = NULL
          WHERE id = (SELECT min(id) FROM beckett.checkpoints)`,
      ),
    exact: async (db: TestDatabase) => expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT),
  })),
];

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe.each(FAMILIES)("$family on $fixture: the application's own role writes", (f) => {
  it('fails before the fix (the trigger wrote with the writer`s rights), works after it; down restores exactly', async () => {
    const db = await createTestDatabase(`${f.family}_app_role`);
    const role = `dbops_t_app_${f.family}_${Math.random().toString(36).slice(2, 8)}`;
    await loadRealFixture(db.client, f.fixture);
    const app = await connectAsAppRole(
      db,
      role,
      `GRANT USAGE ON SCHEMA ${f.schema} TO ROLE;
       GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${f.schema} TO ROLE`,
    );
    cleanups.push(async () => {
      await app.end();
      await db.drop();
      await dropRoles(db.url, [role]);
    });
    const cli = (...args: string[]) => runCli(args, { url: db.url });
    let n = 0;

    const before = await cli('migrate', 'up', f.family, '--to', f.before);
    expect(before.code, before.stderr).toBe(0);
    const catalogBefore = await fullCatalogSnapshot(db.client, [f.schema]);
    await expect(f.write(app, ++n)).rejects.toThrow(f.denied);

    const up = await cli('migrate', 'up', f.family);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`${f.family}/${f.fix}_`);
    await f.write(app, ++n);
    await f.exact(db);
    const check = await cli('check', 'schema', f.family);
    expect(check.code, check.stdout + check.stderr).toBe(0);

    const down = await cli('migrate', 'down', f.family, '--to', f.before);
    expect(down.code, down.stderr).toBe(0);
    expect(diffCatalog(catalogBefore, await fullCatalogSnapshot(db.client, [f.schema]))).toEqual({
      removed: [],
      added: [],
    });
    await expect(f.write(app, ++n)).rejects.toThrow(f.denied);
    const again = await cli('migrate', 'up', f.family);
    expect(again.code, again.stderr).toBe(0);
    await f.write(app, ++n);
    await f.exact(db);
  });
});

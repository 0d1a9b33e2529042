import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { lookupDrift } from '../helpers/lookup.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { dropRoles } from '../helpers/sequenceReal.js';

/**
 * Queen's server pushing as its own role: rights on its tables, granted before dbops created
 * partition_lookup, so none on it. 0001's trigger upserted partition_lookup with the pusher's
 * rights and failed every push; 0003 makes it run as partition_lookup's owner. Down to 0002 puts
 * the function back exactly (the push fails again: the state before 0003).
 */
const APP = `dbops_t_queen_server_${Math.random().toString(36).slice(2, 8)}`;
let db: TestDatabase;
let app: pg.Client;
let n = 0;

/** One push as the application role, into the first partition. */
function push() {
  return app.query(
    `INSERT INTO queen.messages (transaction_id, partition_id, payload)
     SELECT $1, id, '{}' FROM queen.partitions ORDER BY id LIMIT 1`,
    [`app-${++n}`],
  );
}

beforeAll(async () => {
  db = await createTestDatabase('lookup_app_role');
  await loadRealFixture(db.client, 'lookup_real.sql');
  await db.client.query(`CREATE ROLE ${APP} LOGIN;
    GRANT USAGE ON SCHEMA queen TO ${APP};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA queen TO ${APP}`);
  const url = new URL(db.url);
  url.username = APP;
  url.password = '';
  app = new pg.Client({ connectionString: url.toString() });
  await app.connect();
});
afterAll(async () => {
  await app?.end();
  await db?.drop();
  await dropRoles(db.url, [APP]);
});

describe("lookup: Queen's server role pushes without rights on partition_lookup", () => {
  it('fails at 0002 (the trigger wrote with the pusher`s rights), works after 0003; down to 0002 restores exactly', async () => {
    const to2 = await runCli(['migrate', 'up', 'lookup', '--to', '0002'], { url: db.url });
    expect(to2.code, to2.stderr).toBe(0);
    const at2 = await fullCatalogSnapshot(db.client, ['queen']);
    await expect(push()).rejects.toThrow(/permission denied for table partition_lookup/);

    const up = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    await push();
    await push();
    expect(await lookupDrift(db.client)).toBe(0);
    const check = await runCli(['check', 'all', 'lookup'], { url: db.url });
    expect(check.code, check.stdout + check.stderr).toBe(0);

    const down = await runCli(['migrate', 'down', 'lookup', '--to', '0002'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(diffCatalog(at2, await fullCatalogSnapshot(db.client, ['queen']))).toEqual({
      removed: [],
      added: [],
    });
    const again = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(again.code, again.stderr).toBe(0);
    await push();
    expect(await lookupDrift(db.client)).toBe(0);
  });
});

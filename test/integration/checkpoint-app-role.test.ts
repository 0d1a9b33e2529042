import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { checkpointDrift, NO_DRIFT } from '../helpers/checkpoint.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { dropRoles } from '../helpers/sequenceReal.js';

/**
 * Beckett writing as its own role: rights on its tables, granted before dbops created the hot
 * tables, so none on them. 0001's trigger wrote the hot tables with the writer's rights and failed
 * every update that moved a checkpoint in or out of them; 0004 makes it run as the hot tables'
 * owner. Down to 0003 puts the function back exactly (the update fails again: the state before).
 */
const APP = `dbops_t_beckett_${Math.random().toString(36).slice(2, 8)}`;
let db: TestDatabase;
let app: pg.Client;

/** Makes the lowest-id checkpoint due now, as the application role (its trigger fires). */
function makeDue() {
  return app.query(
    `UPDATE beckett.checkpoints SET process_at = now() - interval '1 second', reserved_until = NULL
      WHERE id = (SELECT min(id) FROM beckett.checkpoints)`,
  );
}

beforeAll(async () => {
  db = await createTestDatabase('checkpoint_app_role');
  await loadRealFixture(db.client, 'checkpoint_real.sql');
  await db.client.query(`CREATE ROLE ${APP} LOGIN;
    GRANT USAGE ON SCHEMA beckett TO ${APP};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA beckett TO ${APP}`);
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

describe("checkpoint: Beckett's role updates checkpoints without rights on the hot tables", () => {
  it('fails at 0003 (the trigger wrote with the writer`s rights), works after 0004; down to 0003 restores exactly', async () => {
    const to3 = await runCli(['migrate', 'up', 'checkpoint', '--to', '0003'], { url: db.url });
    expect(to3.code, to3.stderr).toBe(0);
    const at3 = await fullCatalogSnapshot(db.client, ['beckett']);
    await expect(makeDue()).rejects.toThrow(/permission denied for table checkpoints_/);

    const up = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    await makeDue();
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
    const check = await runCli(['check', 'consistency', 'checkpoint'], { url: db.url });
    expect(check.code, check.stdout + check.stderr).not.toBe(2);

    const down = await runCli(['migrate', 'down', 'checkpoint', '--to', '0003'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(diffCatalog(at3, await fullCatalogSnapshot(db.client, ['beckett']))).toEqual({
      removed: [],
      added: [],
    });
    const again = await runCli(['migrate', 'up', 'checkpoint'], { url: db.url });
    expect(again.code, again.stderr).toBe(0);
    await makeDue();
    expect(await checkpointDrift(db.client)).toEqual(NO_DRIFT);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import {
  catalogSnapshot,
  createTestDatabase,
  type TestDatabase,
  tableChecksum,
} from '../helpers/db.js';
import { lookupDrift, pushWhile } from '../helpers/lookup.js';
import { QUEEN_LOOKUP_VERSIONS } from '../helpers/lookupQueen.js';
import { loadRealFixture } from '../helpers/realFixtures.js';

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

async function queenDb(label: string, queenDdl?: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  dbs.push(db);
  await loadRealFixture(db.client, 'lookup_real.sql');
  if (queenDdl) await db.client.query(queenDdl);
  return db;
}

const cli = (db: TestDatabase, ...args: string[]) => runCli(args, { url: db.url });

/** up (with pushes) / check / resync / down / up, with the catalog of queen compared after down. */
async function cycle(db: TestDatabase) {
  const before = await catalogSnapshot(db.client, ['queen']);
  const dry = await cli(db, 'migrate', 'up', 'lookup', '--dry-run');
  const { result: up, pushes, errors } = await pushWhile(db, 4, cli(db, 'migrate', 'up', 'lookup'));
  const drift = await lookupDrift(db.client);
  const check = await cli(db, 'check', 'all', 'lookup');
  const lookupRows = await tableChecksum(db.client, 'queen.partition_lookup');
  const resync = await cli(db, 'resync', 'partition-lookup');
  const resyncChanged = (await tableChecksum(db.client, 'queen.partition_lookup')) !== lookupRows;
  const messages = await tableChecksum(db.client, 'queen.messages');
  const down = await cli(db, 'migrate', 'down', 'lookup', '--all');
  const after = await catalogSnapshot(db.client, ['queen']);
  const messagesAfter = await tableChecksum(db.client, 'queen.messages');
  const again = await cli(db, 'migrate', 'up', 'lookup');
  const checkAgain = await cli(db, 'check', 'all', 'lookup');
  return {
    dry,
    up,
    pushes,
    errors,
    drift,
    check,
    resync,
    resyncChanged,
    down,
    before,
    after,
    messagesKept: messages === messagesAfter,
    again,
    checkAgain,
    driftAgain: await lookupDrift(db.client),
  };
}

function expectCycleOk(r: Awaited<ReturnType<typeof cycle>>) {
  expect(r.up.code, r.up.stderr).toBe(0);
  expect(r.dry.code, r.dry.stderr).toBe(r.up.code);
  expect(r.errors).toEqual([]);
  expect(r.pushes).toBeGreaterThan(0);
  expect(r.drift).toBe(0);
  expect(r.check.code, r.check.stdout + r.check.stderr).toBe(0);
  expect(r.resync.code, r.resync.stderr).toBe(0);
  expect(r.down.code, r.down.stderr).toBe(0);
  expect(r.after).toEqual(r.before);
  expect(r.messagesKept).toBe(true);
  expect(r.again.code, r.again.stderr).toBe(0);
  expect(r.checkAgain.code, r.checkAgain.stdout).toBe(0);
  expect(r.driftAgain).toBe(0);
}

describe("lookup adopts Queen's own partition_lookup (lookup_real.sql + Queen's DDL)", () => {
  it.each(QUEEN_LOOKUP_VERSIONS.map((v) => [v.name, v]))(
    '%s: kept in place under pushes, consistent, and given back as it was on down',
    async (_name, version) => {
      const db = await queenDb(`lookup_adopt_${version.source.slice(0, 7)}`, version.sql);
      // Queen's rows as Queen may leave them: one behind, one for a deleted message (ahead).
      await db.client.query(`
        UPDATE queen.partition_lookup SET last_message_created_at = last_message_created_at - interval '1 day'
         WHERE id = (SELECT id FROM queen.partition_lookup ORDER BY id LIMIT 1);
        UPDATE queen.partition_lookup SET last_message_id = gen_random_uuid()
         WHERE id = (SELECT id FROM queen.partition_lookup ORDER BY id DESC LIMIT 1)`);
      const dry = await cli(db, 'migrate', 'up', 'lookup', '--dry-run');
      expect(dry.stdout).toContain("partition_lookup exists (Queen's own): adopted in place");
      const r = await cycle(db);
      expectCycleOk(r);
      expect(r.up.stderr).toContain('lookup repair of the adopted rows');
      // Only dbops' trigger keeps the table while applied; Queen's definitions are back after down.
      expect(r.before.filter((l) => l.includes('trg_update_partition_lookup'))).toEqual(
        r.after.filter((l) => l.includes('trg_update_partition_lookup')),
      );
    },
  );

  it('refuses, in one round and the same for --dry-run, what it cannot adopt', async () => {
    const db = await queenDb('lookup_adopt_refuse', QUEEN_LOOKUP_VERSIONS[0]!.sql);
    await db.client.query(`
      ALTER TABLE queen.partition_lookup DROP COLUMN updated_at;
      ALTER TABLE queen.partition_lookup ADD COLUMN note text NOT NULL DEFAULT 'x';
      ALTER TABLE queen.partition_lookup ALTER COLUMN note DROP DEFAULT`);
    const before = await catalogSnapshot(db.client, ['queen']);
    const dry = await cli(db, 'migrate', 'up', 'lookup', '--dry-run');
    const real = await cli(db, 'migrate', 'up', 'lookup');
    expect(real.code).toBe(2);
    expect(dry.code).toBe(2);
    for (const out of [dry.stderr + dry.stdout, real.stderr + real.stdout]) {
      expect(out).toContain('partition_lookup.updated_at is missing');
      expect(out).toContain('ADD COLUMN updated_at timestamp with time zone');
      expect(out).toContain('partition_lookup.note is NOT NULL without a default');
    }
    expect(await catalogSnapshot(db.client, ['queen'])).toEqual(before);
  });
});

describe("lookup on lookup_real.sql without Queen's table", () => {
  it('up under pushes / check / resync changes nothing / down gives the catalog back / up', async () => {
    const db = await queenDb('lookup_adopt_none');
    const r = await cycle(db);
    expectCycleOk(r);
    expect(r.resyncChanged).toBe(false);
    expect(r.up.stderr).not.toContain('lookup repair of the adopted rows');
  });
});

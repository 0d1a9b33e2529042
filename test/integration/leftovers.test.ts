import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADVISORY_NAMESPACE } from '../../src/db/session.js';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, waitForDbopsLockWait } from '../helpers/db.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('leftovers');
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 2, partitions: 20, messages: 200 });
});
afterAll(() => db.drop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dbopsSessions(): Promise<number> {
  const { rows } = await db.client.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dbops'`,
  );
  return rows[0].n;
}

describe('what a killed run leaves', () => {
  it("a SIGKILLed migrate's backend ends by itself within seconds, releasing the family's lock, while still waiting", async () => {
    const blocker = await db.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE queen.messages IN ACCESS EXCLUSIVE MODE');
    const run = startCli(['--lock-timeout', '600000', 'migrate', 'up', 'lookup'], { url: db.url });
    while ((await dbopsSessions()) === 0) await sleep(20);
    // Let it reach the lock wait on messages.
    expect(await waitForDbopsLockWait(db.client)).toBe(true);
    run.child.kill('SIGKILL');
    await run.done;
    const killedAt = Date.now();
    while ((await dbopsSessions()) > 0 && Date.now() - killedAt < 10_000) await sleep(50);
    const gone = Date.now() - killedAt;
    const { rows: locks } = await db.client.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [ADVISORY_NAMESPACE],
    );
    await blocker.query('ROLLBACK');
    await blocker.end();
    expect(gone).toBeLessThan(5000); // without client_connection_check_interval: until ROLLBACK
    expect(locks[0].n).toBe(0);
    const rerun = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(rerun.code, rerun.stderr).toBe(0);
  });

  it("a resync rerun waits for the lock of a killed resync's session (migrationLockWaitMs), then finishes", async () => {
    const dead = await db.connect();
    await dead.query('SELECT pg_advisory_lock($1, hashtext($2))', [
      ADVISORY_NAMESPACE,
      'resync:partition-lookup',
    ]);
    const started = Date.now();
    const run = runCli(['resync', 'partition-lookup'], { url: db.url });
    await sleep(1500);
    await dead.end(); // the backend of the killed run ends
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('skipped');
    expect(Date.now() - started).toBeGreaterThan(1400);
  });

  it('a resync whose lock stays held gives up after migrationLockWaitMs, naming the holder (exit 2)', async () => {
    const holder = await db.connect();
    await holder.query(`SELECT set_config('application_name', 'other-resync', false)`);
    await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [
      ADVISORY_NAMESPACE,
      'resync:partition-lookup',
    ]);
    const cwd = mkdtempSync(join(tmpdir(), 'dbops-'));
    writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ migrationLockWaitMs: 300 }));
    const r = await runCli(['resync', 'partition-lookup'], { url: db.url, cwd });
    await holder.end();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /another dbops resync of partition-lookup is running \(pid \d+ \(other-resync/,
    );
    expect(r.stderr).toContain('waited 300 ms');
  });

  it('migrate status names other dbops sessions, the migration lock they hold, and INVALID indexes', async () => {
    const other = await db.connect();
    await other.query(`SELECT set_config('application_name', 'dbops', false)`);
    await other.query('SELECT pg_advisory_lock($1, hashtext($2))', [
      ADVISORY_NAMESPACE,
      'migrate:lookup',
    ]);
    await db.client.query(
      `INSERT INTO queen.queues (name, priority) VALUES ('dup-a', 7), ('dup-b', 7)`,
    );
    await db.client
      .query('CREATE UNIQUE INDEX CONCURRENTLY ix_leftover ON queen.queues (priority)')
      .catch(() => {}); // fails on the duplicate, leaving an INVALID index
    const r = await runCli(['migrate', 'status', 'lookup'], { url: db.url });
    await other.end();
    await db.client.query('DROP INDEX queen.ix_leftover');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /found: dbops session pid \d+ \(idle for \d+ s, holds the migration lock of lookup\)/,
    );
    expect(r.stdout).toContain('found: INVALID index queen.ix_leftover on queues');
    expect(r.stdout).toContain('drops and rebuilds it');
  });

  it('migrate status says nothing about leftovers when there are none', async () => {
    const r = await runCli(['migrate', 'status', 'lookup'], { url: db.url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('found:');
  });

  it('a connection lost under a running migration (server crash, network cut) is a connection error, exit 2, no stack; the rerun finishes', async () => {
    // A TCP proxy in front of the test server: destroying its sockets closes dbops' connection
    // without an error from the server, as a crash or `pg_ctl restart -m immediate` does.
    const fresh = await createTestDatabase('leftovers_cut');
    await fresh.client.query(queenBaseSchemaSql());
    await seedQueen(fresh.client, { queues: 2, partitions: 20, messages: 200 });
    const server = new URL(inject('serverUrl'));
    const sockets: Socket[] = [];
    const proxy = createServer((client) => {
      const upstream = connect(Number(server.port || 5432), server.hostname);
      sockets.push(client, upstream);
      client.on('error', () => {}).pipe(upstream);
      upstream.on('error', () => {}).pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxied = new URL(fresh.url);
    proxied.host = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const blocker = await fresh.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE queen.messages IN ACCESS EXCLUSIVE MODE');
      const run = startCli(['--lock-timeout', '600000', 'migrate', 'up', 'lookup'], {
        url: proxied.href,
      });
      expect(await waitForDbopsLockWait(fresh.client)).toBe(true);
      for (const s of sockets) s.destroy();
      const r = await run.done;
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /dbops: connection error: lookup\/0001_partition_lookup \(up\): lost the connection to the server \(Connection terminated unexpectedly\)/,
      );
      expect(r.stderr).toMatch(/hint: .*Rerun the same command/);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end();
      proxy.close();
    }
    // The backend notices the closed socket within ~1 s; the rerun waits for its lock if needed.
    try {
      const rerun = await runCli(['migrate', 'up', 'lookup'], { url: fresh.url });
      expect(rerun.code, rerun.stderr).toBe(0);
    } finally {
      await fresh.drop();
    }
  });

  it('a session ended by the server (pg_terminate_backend, a fast shutdown: 57P01) is a connection error too, exit 2, no stack', async () => {
    const fresh = await createTestDatabase('leftovers_term');
    await fresh.client.query(queenBaseSchemaSql());
    await seedQueen(fresh.client, { queues: 2, partitions: 20, messages: 200 });
    const blocker = await fresh.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE queen.messages IN ACCESS EXCLUSIVE MODE');
      const run = startCli(['--lock-timeout', '600000', 'migrate', 'up', 'lookup'], {
        url: fresh.url,
      });
      for (;;) {
        const { rowCount } = await fresh.client.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()
              AND application_name = 'dbops' AND wait_event_type = 'Lock'`,
        );
        if (rowCount) break;
        await sleep(20);
      }
      const r = await run.done;
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /dbops: connection error: lookup\/0001_partition_lookup \(up\): lost the connection to the server \(terminating connection due to administrator command\)/,
      );
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end();
    }
    try {
      const rerun = await runCli(['migrate', 'up', 'lookup'], { url: fresh.url });
      expect(rerun.code, rerun.stderr).toBe(0);
    } finally {
      await fresh.drop();
    }
  });
});

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { corruptLookup } from '../helpers/lookupDrift.js';

/** The built package entry, as `import ... from 'dbops'` loads it (package.json exports). */
type Api = typeof import('../../src/index.js');
const ENTRY = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url));

let api: Api;
let db: TestDatabase;
const noEnv = { env: {}, cwd: '/' };

beforeAll(async () => {
  api = (await import(ENTRY)) as Api;
  db = await createTestDatabase('api');
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 5, partitions: 300, messages: 3000 });
});
afterAll(() => db.drop());

/** Items without timings, for comparing two runs. */
const stable = (items: { id: string; status: string; count?: number; sample?: string[] }[]) =>
  items.map(({ id, status, count, sample }) => ({ id, status, count, sample }));

describe('programmatic API', () => {
  it('runs the job, returns the reports the CLI renders, and never prints or exits', async () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    const exit = vi.spyOn(process, 'exit');
    const before = process.exitCode;
    try {
      const nothing = await api.check({ databaseUrl: db.url, ...noEnv });
      expect(nothing.status).toBe('fail');
      expect(nothing.items.map((i) => i.id)).toEqual(['dbops.nothing-checked']);
      expect(api.exitCodeFor(nothing)).toBe(1);

      const up = await api.migrate({ databaseUrl: db.url, families: ['lookup'], ...noEnv });
      expect(up.kind).toBe('migrations');
      expect(up.items.map((i) => [i.id, i.status])).toEqual([
        ['lookup/0001_partition_lookup', 'applied'],
        ['lookup/0002_partition_lookup_backfill', 'applied'],
        ['lookup/0003_lookup_as_owner', 'applied'],
      ]);

      const st = await api.status({ databaseUrl: db.url, families: ['lookup'], ...noEnv });
      expect(st.status).toBe('ok');
      expect(st.items[0]).toMatchObject({ id: 'lookup', status: 'applied' });

      const healthy = await api.check({ databaseUrl: db.url, ...noEnv });
      expect(healthy.status).toBe('ok');
      expect(healthy.items.map((i) => i.id)).toContain('lookup.missing');
    } finally {
      expect(stdout).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
      expect(exit).not.toHaveBeenCalled();
      expect(process.exitCode).toBe(before);
      vi.restoreAllMocks();
    }
  });

  it('finds drift exactly as the CLI does, and resync repairs it', async () => {
    await corruptLookup(db.client);
    const report = await api.check({ databaseUrl: db.url, families: ['lookup'], ...noEnv });
    expect(report.status).toBe('fail');
    const cli = await runCli(['check', 'all', 'lookup', '--format', 'json'], { url: db.url });
    expect(cli.code).toBe(1);
    expect(stable(report.items)).toEqual(stable(JSON.parse(cli.stdout).checks));

    // render() gives the text the CLI prints for the same report, in every format.
    expect(JSON.parse(await api.render(report, 'json')).checks).toEqual(
      JSON.parse(JSON.stringify(report.items)),
    );
    expect(await api.render(report, 'junit')).toContain(
      '<testcase classname="dbops.lookup" name="lookup.missing"',
    );
    expect(await api.render(report, 'github')).toContain('::error title=dbops lookup.missing::');
    expect(await api.render(report, 'github-summary')).toContain('| fail | `lookup.missing` |');
    expect(await api.render(report, 'html')).toContain('<code>lookup.missing</code>');
    expect(await api.render(report, 'table')).toMatch(/^FAIL check all: /);
    await expect(api.render(report, 'pdf' as never)).rejects.toBeInstanceOf(api.UsageError);

    const dry = await api.resync({
      databaseUrl: db.url,
      targets: ['partition-lookup'],
      dryRun: true,
      ...noEnv,
    });
    const counts = dry.items[0]!.numbers!;
    expect((counts.inserted ?? 0) + (counts.updated ?? 0) + (counts.deleted ?? 0)).toBeGreaterThan(
      0,
    );
    const done = await api.resync({ databaseUrl: db.url, targets: ['all'], ...noEnv });
    expect(done.items.find((i) => i.id === 'partition-lookup')?.status).toBe('done');
    expect((await api.check({ databaseUrl: db.url, ...noEnv })).status).toBe('ok');
  });

  it('throws typed errors: bad options, bad config, unreachable server', async () => {
    await expect(api.check({ databaseUrl: 'mysql://x/y', ...noEnv })).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringContaining('postgres://'),
    });
    await expect(
      api.migrate({ databaseUrl: db.url, direction: 'down', ...noEnv }),
    ).rejects.toBeInstanceOf(api.UsageError);
    await expect(
      api.check({ databaseUrl: db.url, families: ['nope'], ...noEnv }),
    ).rejects.toBeInstanceOf(api.DbopsError);
    const badConfig = api.status({
      databaseUrl: db.url,
      ...noEnv,
      config: { lockTimeoutMs: -1 } as never,
    });
    await expect(badConfig).rejects.toBeInstanceOf(api.ConfigError);
    await expect(
      api.status({ databaseUrl: 'postgres://nobody@127.0.0.1:1/x', ...noEnv }),
    ).rejects.toBeInstanceOf(api.ConnectionError);
  });

  it('a migration that fails part way throws OperationError carrying the report; a rerun finishes', async () => {
    const opts = { databaseUrl: db.url, families: ['lookup'], ...noEnv };
    const down = await api.migrate({ ...opts, direction: 'down', all: true });
    expect(down.items.map((i) => i.status)).toEqual(['reverted', 'reverted', 'reverted']);
    const locker = await db.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK queen.messages IN ACCESS EXCLUSIVE MODE');
    const err = await api
      .migrate({ ...opts, config: { lockTimeoutMs: 200, lockRetries: 0 } })
      .catch((e: unknown) => e);
    await locker.query('ROLLBACK');
    await locker.end();
    expect(err).toBeInstanceOf(api.OperationError);
    const failure = err as InstanceType<Api['OperationError']>;
    expect(failure.kind).toBe('lock');
    expect(failure.report.status).toBe('error');
    expect(failure.report.items.map((i) => [i.id, i.status])).toEqual([
      ['lookup/0001_partition_lookup', 'failed'],
    ]);
    const rerun = await api.migrate(opts);
    expect(rerun.items.map((i) => i.status)).toEqual(['applied', 'applied', 'applied']);
  });
});

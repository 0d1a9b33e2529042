import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type EmbeddedServer, startEmbeddedServer } from '../../src/db/embedded.js';
import { quoteIdent } from '../../src/db/ident.js';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli, startCli } from '../helpers/cli.js';

/**
 * A fleet on the test server: 20 Queen databases (lookup family not yet applied), one without
 * base tables (refused), a closed port (unreachable), and an embedded server with password
 * authentication reached with a wrong password (refused).
 */
const PREFIX = `dbops_t_fleet_${randomBytes(3).toString('hex')}`;
const NAMES = Array.from({ length: 20 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);
const SECRET = 'not-the-password-7f3';

let admin: pg.Client;
let embedded: EmbeddedServer | undefined;
let dir: string;
let allFile: string;
let localFile: string;
const clients = new Map<string, pg.Client>();

function dbUrl(db: string): string {
  const url = new URL(inject('serverUrl'));
  url.pathname = `/${db}`;
  return url.toString();
}

async function db(name: string): Promise<pg.Client> {
  let c = clients.get(name);
  if (!c) {
    c = new pg.Client({ connectionString: dbUrl(`${PREFIX}_${name}`) });
    c.on('error', () => {});
    await c.connect();
    clients.set(name, c);
  }
  return c;
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function historyNames(name: string): Promise<string[] | null> {
  const c = await db(name);
  const { rows } = await c.query<{ t: string | null }>(
    `SELECT to_regclass('dbops.migrations_lookup')::text AS t`,
  );
  if (rows[0]!.t === null) return null;
  return (
    await c.query<{ name: string }>('SELECT name FROM dbops.migrations_lookup ORDER BY id')
  ).rows.map((r) => r.name);
}

/** Deletes `n` lookup rows: lookup.missing finds exactly these. */
async function corrupt(name: string, n: number): Promise<void> {
  await (await db(name)).query(
    `DELETE FROM queen.partition_lookup WHERE partition_id IN
       (SELECT partition_id FROM queen.partition_lookup ORDER BY partition_id LIMIT $1)`,
    [n],
  );
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1)!;

type Target = {
  name: string;
  status: string;
  message?: string;
  phase?: string;
  report?: Record<string, unknown> & { checks?: Item[]; migrations?: Item[] };
  gate?: { checks: Item[] };
};
type Item = { id: string; status: string; count?: number };
const byName = (doc: { targets: Target[] }) => new Map(doc.targets.map((t) => [t.name, t]));

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('serverUrl') });
  await admin.connect();
  const template = `${PREFIX}_seed`;
  await admin.query(`CREATE DATABASE ${quoteIdent(template)}`);
  const t = new pg.Client({ connectionString: dbUrl(template) });
  await t.connect();
  await t.query(queenBaseSchemaSql());
  await seedQueen(t, { queues: 2, partitions: 30, messages: 300 });
  await t.end();
  for (const name of NAMES)
    await admin.query(
      `CREATE DATABASE ${quoteIdent(`${PREFIX}_${name}`)} TEMPLATE ${quoteIdent(template)}`,
    );
  await admin.query(`CREATE DATABASE ${quoteIdent(`${PREFIX}_bare`)}`);
  embedded = await startEmbeddedServer();
  const wrong = new URL(embedded.url);
  wrong.password = SECRET;
  dir = mkdtempSync(join(tmpdir(), 'dbops-fleet-'));
  const local = NAMES.map((name) => ({ name, url: dbUrl(`${PREFIX}_${name}`) }));
  localFile = join(dir, 'local.json');
  writeFileSync(localFile, JSON.stringify({ targets: local }));
  allFile = join(dir, 'all.json');
  writeFileSync(
    allFile,
    JSON.stringify({
      targets: [
        ...local,
        { name: 'bare', url: dbUrl(`${PREFIX}_bare`) },
        { name: 'closed', url: `postgres://root:${SECRET}@127.0.0.1:${await closedPort()}/x` },
        { name: 'wrong-password', url: wrong.toString() },
      ],
    }),
  );
});

afterAll(async () => {
  for (const c of clients.values()) await c.end().catch(() => {});
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1`,
    [`${PREFIX}%`],
  );
  // Each DROP DATABASE waits for a checkpoint; concurrent ones share it.
  await Promise.all(
    rows.map(async (r) => {
      const c = new pg.Client({ connectionString: inject('serverUrl') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(r.datname)} WITH (FORCE)`);
      await c.end();
    }),
  );
  await admin.end();
  await embedded?.stop();

  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('fleet mode', () => {
  it('--canary 2: an unhealthy canary stops the rollout; nothing else is attempted', async () => {
    // t02 already has the family applied, with lookup rows missing: check all finds them.
    const one = await runCli(['migrate', 'up'], { url: dbUrl(`${PREFIX}_t02`) });
    expect(one.code, one.stderr).toBe(0);
    await corrupt('t02', 3);

    const r = await runCli([
      'migrate',
      'up',
      '--targets',
      allFile,
      '--canary',
      '2',
      '--format',
      'json',
    ]);
    expect(r.code, r.stderr).toBe(2);
    const doc = JSON.parse(r.stdout);
    const t = byName(doc);
    expect(t.get('t01')).toMatchObject({ status: 'ok', phase: 'canary' });
    expect(t.get('t01')!.gate!.checks.every((c) => c.status === 'ok')).toBe(true);
    expect(t.get('t02')).toMatchObject({ status: 'fail', phase: 'canary' });
    expect(t.get('t02')!.message).toContain('lookup.missing (3)');
    for (const name of [...NAMES.slice(2), 'bare', 'closed', 'wrong-password']) {
      expect(t.get(name)!.status, name).toBe('not-attempted');
      expect(t.get(name)!.message).toMatch(
        /^canary unhealthy: t02 fail \(check all: lookup\.missing \(3\)\)/,
      );
    }
    expect(doc.counts).toMatchObject({ ok: 1, fail: 1, 'not-attempted': 21 });
    expect(await historyNames('t01')).toHaveLength(3);
    for (const name of NAMES.slice(2)) expect(await historyNames(name), name).toBeNull();

    // The same resync as on one database repairs t02, selected by --target.
    const fix = await runCli([
      'resync',
      'partition-lookup',
      '--targets',
      allFile,
      '--target',
      't02',
    ]);
    expect(fix.code, fix.stdout + fix.stderr).toBe(0);
    expect(lastLine(fix.stdout)).toMatch(/^OK resync partition-lookup: 1 ok of 1 \(/);
    expect(fix.stdout).toMatch(/t02 +│ ok +│ done 3 rows/);
  });

  it('two concurrent migrate up --parallel 4 runs on overlapping targets apply each migration once, everywhere reachable, and report the rest', async () => {
    const a = startCli([
      'migrate',
      'up',
      '--targets',
      allFile,
      '--parallel',
      '4',
      '--format',
      'json',
    ]);
    // B starts on t03 as A does (t01 and t02 are migrated already): they contend for the same
    // databases from the start, and the advisory lock lets only one of them apply each.
    const b = startCli([
      'migrate',
      'up',
      '--targets',
      localFile,
      '--target',
      ...NAMES.slice(2),
      '--parallel',
      '4',
    ]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(2);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(lastLine(rb.stdout)).toMatch(/^OK migrate up: 18 ok of 18 \(/);
    const doc = JSON.parse(ra.stdout);
    const t = byName(doc);
    expect(doc.counts).toMatchObject({ ok: 20, refused: 2, unreachable: 1 });
    expect(t.get('bare')).toMatchObject({ status: 'refused' });
    expect(t.get('bare')!.message).toContain("no family's base tables");
    expect(t.get('wrong-password')).toMatchObject({ status: 'refused' });
    expect(t.get('wrong-password')!.message).toContain('authentication failed');
    expect(t.get('closed')).toMatchObject({ status: 'unreachable' });
    for (const out of [ra.stdout, ra.stderr, rb.stdout, rb.stderr]) {
      expect(out).not.toContain(SECRET);
      expect(out).not.toContain(new URL(embedded!.url).password);
    }

    // Each database: both migrations in history once, and applied by exactly one of the runs.
    const applied = new Map<string, number>();
    for (const target of doc.targets as Target[])
      for (const m of target.report?.migrations ?? [])
        if (m.status === 'applied') applied.set(target.name, (applied.get(target.name) ?? 0) + 1);
    for (const line of rb.stdout.split('\n')) {
      const m = /^│ (t\d\d) +│ ok +│ applied \+(\d)/.exec(line);
      if (m) applied.set(m[1]!, (applied.get(m[1]!) ?? 0) + Number(m[2]));
    }
    for (const name of NAMES) {
      expect(await historyNames(name), name).toEqual([
        '0001_partition_lookup',
        '0002_partition_lookup_backfill',
        '0003_lookup_as_owner',
      ]);
      expect(applied.get(name) ?? 0, name).toBe(['t01', 't02'].includes(name) ? 0 : 3);
    }

    // The matrix on a terminal-style table, with the counts in the last line.
    const status = await runCli(['migrate', 'status', 'lookup', '--targets', allFile]);
    expect(status.code).toBe(2);
    expect(lastLine(status.stdout)).toMatch(
      /^ERROR migrate status: 21 ok, 1 refused, 1 unreachable of 23 \(/,
    );
    expect(status.stdout).toMatch(/│ t07 +│ ok +│ applied/);
  });

  it('check all: a matrix that names the corrupted target and its check ids (exit 1), in every format', async () => {
    await corrupt('t05', 2);
    const table = await runCli(['check', 'all', '--targets', localFile, '--parallel', '4']);
    expect(table.code, table.stderr).toBe(1);
    expect(lastLine(table.stdout)).toMatch(/^FAIL check all: 19 ok, 1 fail of 20 \(/);
    expect(table.stdout).toMatch(/│ t05 +│ fail +│ fail .*│ lookup\.missing \(2\)/);
    expect(table.stderr).toMatch(/fleet check all: 20\/20 targets \(1 not ok\)/);

    // JSON: per target, the single-database report, the same as `check all` on that database.
    const json = await runCli(['check', 'all', '--targets', localFile, '--format', 'json']);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ kind: 'fleet', status: 'fail', exitCode: 1, total: 20 });
    for (const name of ['t01', 't05']) {
      const single = await runCli(['check', 'all', '--format', 'json'], {
        url: dbUrl(`${PREFIX}_${name}`),
      });
      const one = JSON.parse(single.stdout);
      const fleetOne = byName(doc).get(name)!.report!;
      expect(Object.keys(fleetOne).sort()).toEqual(Object.keys(one).sort());
      const shape = (items: Item[]) =>
        items.map((i) => ({
          keys: Object.keys(i).sort(),
          id: i.id,
          status: i.status,
          count: i.count,
        }));
      expect(shape(fleetOne.checks!)).toEqual(shape(one.checks));
      expect(fleetOne.status).toBe(one.status);
    }
    expect(byName(doc).get('t05')).toMatchObject({
      status: 'fail',
      families: { lookup: { status: 'fail' } },
    });

    const github = await runCli([
      'check',
      'all',
      '--targets',
      localFile,
      '--target',
      't05,t06',
      '--format',
      'github',
    ]);
    expect(github.code).toBe(1);
    expect(github.stdout).toMatch(/^::error title=dbops t05 lookup\.missing::2 × /m);
    expect(github.stdout).not.toContain('t06');
    expect(lastLine(github.stdout)).toBe('dbops check all: 1 ok, 1 fail of 2');

    const junit = await runCli([
      'check',
      'all',
      '--targets',
      localFile,
      '--target',
      't05',
      't06',
      '--format',
      'junit',
    ]);
    expect(junit.stdout).toMatch(/<testsuite name="t05" tests="5" failures="1"/);
    expect(junit.stdout).toMatch(/<testsuite name="t06" tests="5" failures="0"/);
    expect(junit.stdout).toContain('classname="dbops.t05.lookup" name="lookup.missing"');

    // targets in dbops.config.json: --target alone selects from them.
    const cwd = mkdtempSync(join(dir, 'config-'));
    writeFileSync(
      join(cwd, 'dbops.config.json'),
      JSON.stringify({ targets: NAMES.map((name) => ({ name, url: dbUrl(`${PREFIX}_${name}`) })) }),
    );
    const fromConfig = await runCli(['check', 'all', '--target', 't05'], { cwd });
    expect(fromConfig.code).toBe(1);
    expect(lastLine(fromConfig.stdout)).toMatch(/^FAIL check all: 0 ok, 1 fail of 1 \(/);

    // --fail-fast with one worker: nothing starts after t05.
    const fast = await runCli([
      'check',
      'all',
      '--targets',
      localFile,
      '--parallel',
      '1',
      '--fail-fast',
      '--format',
      'json',
    ]);
    expect(fast.code).toBe(2);
    const f = JSON.parse(fast.stdout);
    expect(f.counts).toMatchObject({ ok: 4, fail: 1, 'not-attempted': 15 });
    expect(byName(f).get('t06')!.message).toBe('--fail-fast: t05 is fail');
  });

  it('--targets -: URLs on stdin, a database-name pattern expanded on the server, passwords masked', async () => {
    const pattern = new URL(inject('serverUrl'));
    pattern.pathname = `/${PREFIX}_t*`;
    const input = `# tenants\n${pattern}\npostgres://root:${SECRET}@127.0.0.1:${await closedPort()}/gone\n`;
    const r = await runCli(['migrate', 'status', 'lookup', '--targets', '-', '--format', 'json'], {
      input,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    const doc = JSON.parse(r.stdout);
    expect(doc.total).toBe(21);
    const names = (doc.targets as Target[]).map((t) => t.name);
    expect(names.slice(0, 20)).toEqual(NAMES.map((n) => `${pattern.host}/${PREFIX}_${n}`));
    expect(doc.targets[0]).toMatchObject({
      status: 'ok',
      families: { lookup: { status: 'applied' } },
    });
    expect(doc.targets[20]).toMatchObject({ status: 'unreachable' });
    expect(doc.targets[20].url).toContain(':***@');
  });

  it('Ctrl-C cancels the running target, starts no other, and still prints the matrix (exit 2)', async () => {
    // t01's checks wait behind a lock held here, so the run is inside t01 when interrupted.
    const holder = await db('t01');
    await holder.query('BEGIN');
    await holder.query('LOCK queen.partition_lookup IN ACCESS EXCLUSIVE MODE');
    const run = startCli([
      'check',
      'all',
      '--targets',
      localFile,
      '--parallel',
      '1',
      '--format',
      'json',
    ]);
    try {
      for (let waited = 0; ; waited += 50) {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND application_name = 'dbops' AND wait_event_type = 'Lock'`,
          [`${PREFIX}_t01`],
        );
        if (rows[0]!.n > 0) break;
        if (waited > 20_000) throw new Error('the fleet run never waited on t01');
        await new Promise((r) => setTimeout(r, 50));
      }
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code).toBe(2);
      const doc = JSON.parse(r.stdout);
      expect(byName(doc).get('t01')!.status).toBe('error');
      expect(doc.counts).toMatchObject({ error: 1, 'not-attempted': 19 });
      expect(byName(doc).get('t02')!.message).toBe('interrupted (Ctrl-C)');
    } finally {
      await holder.query('ROLLBACK');
    }
  });

  it('usage errors exit 2 before touching any target', async () => {
    const cases: [string[], RegExp][] = [
      [['check', 'all', '--parallel', '4'], /--parallel work only over a fleet/],
      [
        ['check', 'all', '--targets', localFile, '--database-url', 'postgres://h/d'],
        /give one of them/,
      ],
      [
        ['check', 'all', '--targets', localFile, '--parallel', '0'],
        /--parallel 0: expected a whole number >= 1/,
      ],
      [['check', 'all', '--targets', localFile, '--parallel', '99'], /at most 32/],
      [['check', 'all', '--targets', localFile, '--canary', '2'], /unknown option '--canary'/],
      [
        ['migrate', 'status', '--targets', localFile, '--target', 'nope'],
        /--target nope: no such target/,
      ],
      [['check', 'all', '--targets', join(dir, 'missing.json')], /cannot be read/],
      [['check', 'all', '--targets', localFile, '--format', 'html'], /--format html is for one/],
      // Validated by the resync operation itself, as on one database.
      [['resync', 'nope', '--targets', localFile], /nope/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify([
        { name: 'a', url: 'mysql://x/y' },
        { host: 'h' },
        { name: 'a', url: 'postgres://h/d', families: ['nope'] },
      ]),
    );
    const r = await runCli(['check', 'all', '--targets', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('targets[0]: must start with postgres://');
    expect(r.stderr).toContain('targets[1]: needs url, or at least database');
    expect(r.stderr).toContain('targets[2].families: must be an array of');
  });
});

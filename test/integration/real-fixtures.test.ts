import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { loadRealFixture, REAL_FIXTURES } from '../helpers/realFixtures.js';

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

async function fixtureDb(file: string): Promise<TestDatabase> {
  const db = await createTestDatabase(`real_${file.replace('.sql', '')}`);
  dbs.push(db);
  await loadRealFixture(db.client, file);
  return db;
}

/** The refusal as the user reads it: the error lines on stderr, without progress lines. */
function refusal(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('dbops:') || l.startsWith('  - ') || l.startsWith('hint:'))
    .join('\n');
}

const cases = Object.entries(REAL_FIXTURES).flatMap(([family, files]) =>
  files.map((file) => [family, file] as const),
);

describe('the real upstream schemas: a dry run says what the real run will say', () => {
  it.each(cases)(
    '%s on %s: same exit code and message; applied means checked healthy',
    async (family, file) => {
      const db = await fixtureDb(file);
      const dry = await runCli(['migrate', 'up', family, '--dry-run'], { url: db.url });
      const real = await runCli(['migrate', 'up', family], { url: db.url });
      expect([dry.code, real.code], `${dry.stderr}\n---\n${real.stderr}`).toEqual([
        real.code,
        dry.code,
      ]);
      if (real.code === 2) {
        expect(refusal(dry.stderr)).toBe(refusal(real.stderr));
        expect(real.stderr).toContain('nothing was changed');
        const status = await runCli(['migrate', 'status', family, '--format', 'json'], {
          url: db.url,
        });
        const items = JSON.parse(status.stdout).migrations as { id: string; status: string }[];
        expect(items.find((i) => i.id === family)?.status).toBe('pending');
      } else {
        expect(real.code, real.stderr).toBe(0);
        const check = await runCli(['check', 'all', family], { url: db.url });
        expect(check.code, check.stdout).toBe(0);
      }
    },
  );
});

describe('never green on nothing', () => {
  it('check all on a database where no family is applied exits 1; so does a named family, even with --allow-skipped', async () => {
    const db = await fixtureDb('lookup_real.sql');
    const all = await runCli(['check', 'all', '--format', 'json'], { url: db.url });
    expect(all.code).toBe(1);
    const report = JSON.parse(all.stdout);
    expect(report.status).toBe('fail');
    expect(report.checks.map((c: { id: string }) => c.id)).toEqual(['dbops.nothing-checked']);
    const named = await runCli(['check', 'all', 'lookup', '--format', 'json'], { url: db.url });
    expect(named.code).toBe(1);
    const skipped = JSON.parse(named.stdout).checks.filter(
      (c: { status: string }) => c.status === 'skipped',
    );
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((c: { notOk: boolean }) => c.notOk)).toBe(true);
    const allowed = await runCli(
      ['check', 'all', 'lookup', '--allow-skipped', '--format', 'json'],
      {
        url: db.url,
      },
    );
    expect(allowed.code).toBe(1);
    expect(JSON.parse(allowed.stdout).checks.at(-1)).toMatchObject({
      id: 'dbops.nothing-checked',
      status: 'fail',
      message: 'every check was skipped: nothing was checked',
    });
  });

  it('a partly applied family is `partial` in migrate status; its checks are skipped and fail the run unless --allow-skipped', async () => {
    const db = await fixtureDb('lookup_real.sql');
    const first = await runCli(['migrate', 'up', 'lookup', '--to', '0001'], { url: db.url });
    expect(first.code, first.stderr).toBe(0);
    const status = await runCli(['migrate', 'status', 'lookup', '--format', 'json'], {
      url: db.url,
    });
    expect(status.code).toBe(0);
    const family = JSON.parse(status.stdout).migrations[0];
    expect(family).toMatchObject({ id: 'lookup', status: 'partial' });
    expect(family.message).toContain('1 of 3 migrations applied; next: 0002');
    const pending = await runCli(['migrate', 'status', 'lookup', '--fail-on-pending'], {
      url: db.url,
    });
    expect(pending.code).toBe(1);

    const junit = await runCli(['check', 'all', '--format', 'junit'], { url: db.url });
    expect(junit.code).toBe(1);
    expect(junit.stdout).toMatch(/<failure message="[^"]*" type="skipped">/);
    expect(junit.stdout).not.toContain('<skipped');
    const github = await runCli(['check', 'all', '--format', 'github'], { url: db.url });
    expect(github.code).toBe(1);
    expect(github.stdout).toContain('::error title=dbops lookup.schema::');
    const allowed = await runCli(['check', 'all', 'lookup', '--allow-skipped'], { url: db.url });
    expect(allowed.code).toBe(1); // every check skipped: nothing was checked

    const rest = await runCli(['migrate', 'up', 'lookup'], { url: db.url });
    expect(rest.code, rest.stderr).toBe(0);
    const healthy = await runCli(['check', 'all'], { url: db.url });
    expect(healthy.code, healthy.stdout).toBe(0);
  });

  it('check skew --table that is not a name, or not a table, is a usage error (exit 2, one line)', async () => {
    const db = await fixtureDb('partition_real.sql');
    const injected = await runCli(['check', 'skew', '--table', 'chunks; drop table chunks'], {
      url: db.url,
    });
    expect(injected.code).toBe(2);
    expect(injected.stderr).toContain('not a table name');
    expect(injected.stderr).not.toContain('    at ');
    const absent = await runCli(['check', 'skew', '--table', 'no_such_table'], { url: db.url });
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('no_such_table does not exist');
    const { rows } = await db.client.query(`SELECT to_regclass('public.chunks') IS NOT NULL AS e`);
    expect(rows[0].e).toBe(true);
  });
});

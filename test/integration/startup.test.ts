import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// --help and --version must not load what only a database command needs (issue 21: start-up
// went from ~250 ms to ~1.5x `node -e 0`). A module hook lists every file the built CLI loads.
const BIN = fileURLToPath(new URL('../../bin/dbops.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dbops-startup-'));
writeFileSync(
  join(dir, 'hooks.mjs'),
  `export async function load(url, context, next) {
     if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n');
     return next(url, context);
   }`,
);
// CommonJS files loaded with require() (pg is) bypass the ESM hook: list the require cache at exit.
writeFileSync(
  join(dir, 'register.mjs'),
  `import { createRequire, register } from 'node:module';
   register('./hooks.mjs', import.meta.url);
   const cache = createRequire(import.meta.url).cache;
   process.on('exit', () => {
     for (const file of Object.keys(cache)) process.stderr.write('LOADED file://' + file + '\\n');
   });`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Files the CLI loads for these arguments, whatever its exit code. */
function loadedFiles(args: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const run = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), BIN, ...args], {
    encoding: 'utf8',
    env,
  });
  return run.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice('LOADED '.length));
}

const HEAVY = [
  /node_modules\/(pg|pg-[a-z-]+|node-pg-migrate|cli-table3|chalk)\//,
  /\/dist\/(migrations|checks)\//,
  /\/dist\/src\/(families|migrate|resync|checks\/runner|demo|report\/table)/,
];

describe('start-up', () => {
  it.each([['--version'], ['--help'], ['migrate', '--help'], ['check', 'all', '--help']])(
    'dbops %s loads neither pg, node-pg-migrate, cli-table3, chalk nor any family, migration or check',
    (...args) => {
      const files = loadedFiles(args);
      expect(files.some((f) => f.endsWith('/dist/src/cli/main.js'))).toBe(true);
      expect(files.filter((f) => HEAVY.some((re) => re.test(f)))).toEqual([]);
    },
  );

  it('a command that connects does load pg (so the hook would see it)', () => {
    // Nothing listens on port 1: exit 2 after pg was loaded.
    const files = loadedFiles([
      'migrate',
      'status',
      '--database-url',
      'postgres://x@127.0.0.1:1/n',
    ]);
    expect(files.some((f) => /node_modules\/pg\//.test(f))).toBe(true);
  });
});

// Issue 21 item 2: a command pays for what it uses. A check of one family loads that family's
// checks and definition, not the other families' code nor any family's resync, preflight or
// migrations; a report that is not coloured (stdout is a pipe here) does not load chalk.
describe('a database command', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('startup_lookup');
    await db.client.query(queenBaseSchemaSql());
    await seedQueen(db.client, { queues: 2, partitions: 20, messages: 200 });
    const up = spawnSync(process.execPath, [BIN, 'migrate', 'up', 'lookup'], {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: db.url },
    });
    expect(up.status, up.stderr).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('check consistency lookup loads lookup checks only, no other family code and no chalk', () => {
    const env = { ...process.env, DATABASE_URL: db.url };
    const files = loadedFiles(['check', 'consistency', 'lookup'], env);
    // What it does need is seen by the hook (so the absences below mean something).
    expect(files.some((f) => /\/dist\/checks\/lookup\/ahead\.js$/.test(f))).toBe(true);
    expect(files.some((f) => /node_modules\/cli-table3\//.test(f))).toBe(true);
    expect(files.some((f) => /node_modules\/pg\//.test(f))).toBe(true);
    const unwanted = files.filter(
      (f) =>
        /\/dist\/checks\/(?!lookup\/)/.test(f) ||
        /\/dist\/migrations\//.test(f) ||
        // The registry loads each family's definition (family.js); nothing else of another family.
        /\/dist\/src\/families\/(partition|checkpoint|sequence)\/(?!family\.js$)/.test(f) ||
        /\/dist\/src\/families\/lookup\/(resync|preflight|demo|adopt)/.test(f) ||
        /\/dist\/src\/(resync|demo|fleet\/run|migrate\/(engine|preflight|runOne))/.test(f) ||
        /node_modules\/(chalk|node-pg-migrate)\//.test(f),
    );
    expect(unwanted).toEqual([]);
  });
});

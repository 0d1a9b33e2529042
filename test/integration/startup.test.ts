import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

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
function loadedFiles(args: string[]): string[] {
  const run = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), BIN, ...args], {
    encoding: 'utf8',
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

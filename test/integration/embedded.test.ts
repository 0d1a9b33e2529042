import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startEmbeddedServer, withEmbeddedServer } from '../../src/db/embedded.js';
import { PreconditionError } from '../../src/errors.js';
import { isRunning, leftovers, portOpen, type ServerTrace } from '../helpers/embedded.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/embedded-server.mjs');

async function query(url: string, sql: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL', () => {
  it('serves queries, then stop() (idempotent) leaves no process, port or data directory', async () => {
    const server = await startEmbeddedServer({ database: 'dbops_demo' });
    expect(isRunning(server.pid)).toBe(true);
    expect(await portOpen(server.port)).toBe(true);
    expect(existsSync(join(server.dataDir, 'PG_VERSION'))).toBe(true);
    const row = await query(server.url, 'SELECT current_database() AS db, 6 * 7 AS n');
    expect(row).toEqual({ db: 'dbops_demo', n: 42 });
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    expect(await leftovers(server)).toEqual([]);
  });

  it('cleans up when the callback fails, and rethrows its error', async () => {
    let trace: ServerTrace | undefined;
    const failure = withEmbeddedServer(async (server) => {
      trace = server;
      await query(server.url, 'SELECT 1/0');
    });
    await expect(failure).rejects.toThrow('division by zero');
    expect(trace).toBeDefined();
    expect(await leftovers(trace!)).toEqual([]);
  });

  for (const [mode, signal, expected] of [
    ['wait', 'SIGINT', { code: null, signal: 'SIGINT' }],
    ['wait', 'SIGTERM', { code: null, signal: 'SIGTERM' }],
    ['throw', undefined, { code: 1, signal: null }],
    ['stop', undefined, { code: 3, signal: null }],
  ] as const) {
    const what = signal
      ? `gets ${signal}`
      : mode === 'throw'
        ? 'crashes with an uncaught exception'
        : 'stops it and exits on its own, keeping its exit code';
    // Concurrent: each case waits mostly on its child's initdb.
    it.concurrent(`cleans up when the process that started it ${what}`, async ({ expect }) => {
      const child = spawn(process.execPath, [FIXTURE, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      const trace = await new Promise<ServerTrace>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          stdout += d;
          if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0]!));
        });
        child.on('exit', () => reject(new Error(`fixture exited early: ${stderr}`)));
      });
      expect(existsSync(trace.dataDir)).toBe(true);
      if (signal) child.kill(signal);
      expect(await exited).toEqual(expected);
      if (mode === 'throw') expect(stderr).toContain('crash with a server running');
      expect(await leftovers(trace)).toEqual([]);
    });
  }

  it('a server left running by a SIGKILLed process is stopped and deleted by the next start', async () => {
    const child = spawn(process.execPath, [FIXTURE, 'wait'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const trace = await new Promise<ServerTrace>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0]!));
      });
      child.on('exit', () => reject(new Error('fixture exited early')));
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // SIGKILL cannot be caught: the server and its directory are still there.
    expect(isRunning(trace.pid)).toBe(true);
    expect(existsSync(trace.dataDir)).toBe(true);
    const next = await startEmbeddedServer();
    try {
      expect(next.reclaimed).toContain(trace.dataDir);
      expect(await leftovers(trace)).toEqual([]);
    } finally {
      await next.stop();
    }
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, refuses a base directory the postgres user cannot enter, before creating anything',
    async () => {
      const closed = await mkdtemp(join(tmpdir(), 'dbops-closed-'));
      await chmod(closed, 0o700);
      try {
        const start = startEmbeddedServer({ baseDir: join(closed, 'pg') });
        await expect(start).rejects.toBeInstanceOf(PreconditionError);
        await expect(start).rejects.toThrow(`cannot enter ${closed} (mode 700)`);
        expect(existsSync(join(closed, 'pg'))).toBe(false);
      } finally {
        await rm(closed, { recursive: true, force: true });
      }
    },
  );
});

/** Runs one integration test file in a child vitest, as a user would with this environment. */
function childVitest(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  // Only the given variables choose the server: none inherited from this run (or from vitest).
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(childEnv)) if (key.startsWith('VITEST')) delete childEnv[key];
  for (const key of ['DATABASE_URL', 'TEST_DATABASE_URL', 'DBOPS_TEST_EMBEDDED'])
    delete childEnv[key];
  Object.assign(childEnv, env, { NO_COLOR: '1' });
  const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
  const args = [vitest, 'run', '--project', 'integration', 'test/integration/server.test.ts'];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

describe('the test suite with no reachable server', () => {
  const unreachable = 'postgres://root@127.0.0.1:1/test';

  it('DBOPS_TEST_EMBEDDED=1 runs the integration tests on an embedded server', async () => {
    const { code, out } = await childVitest({
      TEST_DATABASE_URL: unreachable,
      DBOPS_TEST_EMBEDDED: '1',
    });
    expect(out).toMatch(/dbops tests: embedded PostgreSQL on 127\.0\.0\.1:\d+, data in (\S+),/);
    expect(out).toContain('1 passed');
    expect(code).toBe(0);
    const dataDir = /data in (\S+),/.exec(out)![1]!;
    expect(existsSync(dataDir)).toBe(false);
  });

  it('an explicit TEST_DATABASE_URL that does not answer fails loudly, without falling back', async () => {
    const { code, out } = await childVitest({ TEST_DATABASE_URL: unreachable });
    expect(out).toContain(
      'PostgreSQL is not reachable at postgres://root@127.0.0.1:1/test (from TEST_DATABASE_URL)',
    );
    expect(out).not.toContain('embedded PostgreSQL on');
    expect(code).not.toBe(0);
  });
});

import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { leftovers, type ServerTrace } from '../helpers/embedded.js';

/** The demo's own line naming the embedded server it started. */
function traceOf(stderr: string): ServerTrace {
  const m = /embedded PostgreSQL on 127\.0\.0\.1:(\d+) \(pid (\d+), data in (\S+)\);/.exec(stderr);
  if (!m) throw new Error(`no embedded server line in:\n${stderr}`);
  return { port: Number(m[1]), pid: Number(m[2]), dataDir: m[3]! };
}

/** Data directories of embedded servers left in our temp folder. */
async function serverDirs(): Promise<string[]> {
  return (await readdir(base)).filter((name) => name.startsWith('dbops-pg-'));
}

/** Environment with no server configured at all, and a temp folder of our own. */
let base: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'dbops-demo-test-'));
  await chmod(base, 0o755); // as root, the postgres user must be able to enter it
  env = {
    TMPDIR: base,
    PGHOST: undefined,
    PGPORT: undefined,
    PGDATABASE: undefined,
    DATABASE_URL: undefined,
  };
});
afterAll(() => rm(base, { recursive: true, force: true }));

describe('dbops demo on the embedded server', () => {
  it('tours every step with the expected statuses, exits 0, and leaves no server behind', async () => {
    const r = await runCli(['demo'], { env, cwd: base }); // the default size, as the README runs it
    expect(r.code, r.stderr).toBe(0);
    const statuses = [
      ...r.stdout.matchAll(
        /^(OK|WARN|FAIL|ERROR) (migrate up|check all|resync all|migrate status):/gm,
      ),
    ].map((m) => `${m[1]} ${m[2]}`);
    expect(statuses).toEqual([
      'OK migrate up',
      'OK check all',
      'FAIL check all',
      'OK resync all',
      'OK check all',
      'OK migrate status',
    ]);
    expect(r.stdout).toContain('(exit code of this command: 1)');
    expect(await leftovers(traceOf(r.stderr))).toEqual([]);
    expect(await serverDirs()).toEqual([]);
  });

  it('stops and removes the embedded server when the demo fails midway (exit 2)', async () => {
    // A config that points the lookup family at a schema without its base tables: migrate up fails.
    const cwd = await mkdtemp(join(base, 'cfg-'));
    await writeFile(
      join(cwd, 'dbops.config.json'),
      JSON.stringify({ schemas: { lookup: 'nowhere' } }),
    );
    const r = await runCli(['demo', '--rows', '500'], { env, cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('table nowhere.messages is missing');
    expect(await leftovers(traceOf(r.stderr))).toEqual([]);
    await rm(cwd, { recursive: true });
    expect(await serverDirs()).toEqual([]);
  });
});

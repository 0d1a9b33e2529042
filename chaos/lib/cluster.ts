import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throwaway PostgreSQL cluster the chaos suite owns, so that it can restart the server in the
 * middle of a run (the shared test server must never be restarted). initdb in a fresh temp
 * folder, trust auth, a free port on 127.0.0.1, no Unix socket. As root, every program runs as
 * the OS user `postgres` (PostgreSQL refuses root), which owns the folder.
 */
export interface Cluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  dataDir: string;
  /**
   * `pg_ctl restart -m <mode>`, waiting until the server accepts connections again. `fast`
   * rolls back and disconnects every session; `immediate` kills every process without a
   * checkpoint (a crash): the start runs crash recovery. Returns how long the restart took (ms).
   */
  restart(mode: 'fast' | 'immediate'): Promise<number>;
  /** Stops the server and deletes the folder. Idempotent; never rejects. */
  stop(): Promise<void>;
}

/**
 * Where initdb and pg_ctl are: $CHAOS_PG_BIN, else the newest /usr/lib/postgresql/<n>/bin,
 * else the PATH.
 */
function binDir(): string | undefined {
  if (process.env.CHAOS_PG_BIN) return process.env.CHAOS_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startCluster(): Promise<Cluster> {
  const dir = binDir();
  const program = (name: string) => (dir ? join(dir, name) : name);
  const asRoot = process.getuid?.() === 0;
  // As root: runuser -u postgres -- <program> ...
  const command = (name: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', program(name), ...args]] : [program(name), args];
  const exec = async (name: string, args: string[]) => {
    const [file, argv] = command(name, args);
    try {
      await run(file, argv, { timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(
        `throwaway cluster: ${name} ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}\n` +
          'hint: the restart points need PostgreSQL server programs (initdb, pg_ctl): set CHAOS_PG_BIN ' +
          'to their folder, or CHAOS_RESTARTS=0 to skip the restart points.',
      );
    }
  };

  const folder = mkdtempSync(join(tmpdir(), 'dbops-chaos-pg-'));
  const dataDir = join(folder, 'data');
  const logFile = join(folder, 'server.log');
  let stopped = false;
  const removeSync = () => {
    if (stopped) return;
    stopped = true;
    const [file, argv] = command('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
    if (existsSync(join(dataDir, 'postmaster.pid'))) spawnSync(file, argv, { stdio: 'ignore' });
    rmSync(folder, { recursive: true, force: true });
  };
  // A worker that exits without afterAll (a crash, Ctrl-C) still removes the cluster.
  process.once('exit', removeSync);
  try {
    if (asRoot) {
      const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres']).stdout.toString());
      chownSync(folder, id('-u'), id('-g'));
    }
    await exec('initdb', [
      ...['-D', dataDir, '-U', 'postgres', '-A', 'trust'],
      ...['--no-sync', '--encoding=UTF8', '--locale=C'],
    ]);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      // In postgresql.conf (not pg_ctl -o) so that every restart uses them too. fsync is off:
      // `-m immediate` crashes the server processes, not the machine, so the WAL the server
      // wrote is in the OS cache and crash recovery replays it exactly as after a real crash.
      appendFileSync(
        join(dataDir, 'postgresql.conf'),
        `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n` +
          `fsync = off\nshared_buffers = 32MB\nmax_connections = 60\n`,
      );
      try {
        await exec('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      dataDir,
      async restart(mode) {
        const t0 = Date.now();
        await exec('pg_ctl', [
          'restart',
          '-D',
          dataDir,
          '-l',
          logFile,
          '-m',
          mode,
          '-w',
          '-t',
          '120',
        ]);
        return Date.now() - t0;
      },
      async stop() {
        process.removeListener('exit', removeSync);
        removeSync();
      },
    };
  } catch (err) {
    process.removeListener('exit', removeSync);
    removeSync();
    throw err;
  }
}

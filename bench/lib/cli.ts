import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/dbops.js', import.meta.url));
const GNU_TIME = '/usr/bin/time';

/**
 * How peak RSS is measured:
 * - `rusage`: GNU time (`/usr/bin/time -f %M -o <file>`) reports the kernel's ru_maxrss of the
 *   waited-for process: exact, and the dbops process itself is unchanged.
 * - `vmhwm-poll`: without GNU time, /proc/<pid>/status VmHWM polled every 10 ms; a lower bound
 *   (a peak in the last 10 ms before exit can be missed).
 */
export type RssMethod = 'rusage' | 'vmhwm-poll';

export const rssMethod: RssMethod = (() => {
  try {
    accessSync(GNU_TIME, constants.X_OK);
    return 'rusage';
  } catch {
    return 'vmhwm-poll';
  }
})();

export interface DbopsRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms (fractional). */
  ms: number;
  /** Peak resident set size of the dbops process, KiB (see rssMethod). */
  peakRssKb: number | undefined;
}

/** Runs the built CLI; returns exit code, output, wall time and peak RSS. Works from dist/bench/lib. */
export function runDbops(
  args: string[],
  url: string,
  options: { cwd?: string } = {},
): Promise<DbopsRun> {
  const dir = rssMethod === 'rusage' ? mkdtempSync(join(tmpdir(), 'dbops-bench-')) : undefined;
  const rssFile = dir ? join(dir, 'rss') : undefined;
  const [command, argv] = rssFile
    ? [GNU_TIME, ['-f', '%M', '-o', rssFile, process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  const started = performance.now();
  const child = spawn(command, argv, {
    env: { ...process.env, DATABASE_URL: url, NO_COLOR: '1' },
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let polledKb = 0;
  const poll = rssFile
    ? undefined
    : setInterval(() => {
        polledKb = Math.max(polledKb, readVmHwmKb(child.pid) ?? 0);
      }, 10);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (poll) clearInterval(poll);
      let peakRssKb: number | undefined = polledKb || undefined;
      if (rssFile && dir) {
        // GNU time writes "Command exited with non-zero status N" before the number.
        const last = readFileSync(rssFile, 'utf8').trim().split('\n').at(-1);
        peakRssKb = Number(last) || undefined;
        rmSync(dir, { recursive: true, force: true });
      }
      resolve({ code, stdout, stderr, ms, peakRssKb });
    });
  });
}

function readVmHwmKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs dbops for an untimed setup step (e.g. `migrate up`); throws with its stderr unless it exits 0. */
export async function dbopsOrThrow(databaseUrl: string, ...args: string[]): Promise<DbopsRun> {
  const run = await runDbops(args, databaseUrl);
  if (run.code !== 0) throw new Error(`dbops ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run;
}

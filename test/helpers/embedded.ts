import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** What identifies an embedded server from outside: postmaster pid, port, data directory. */
export interface ServerTrace {
  pid: number;
  port: number;
  dataDir: string;
}

/** Running = signal 0 succeeds and it is not a zombie waiting for its new parent to reap it. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!existsSync('/proc/self/stat')) return true; // no procfs: trust signal 0
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false; // exited between the two checks
  }
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** What is left of a server, after up to 5 s for an orphaned postmaster to finish exiting. */
export async function leftovers(trace: ServerTrace): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const left = [
      ...(isRunning(trace.pid) ? [`process ${trace.pid}`] : []),
      ...((await portOpen(trace.port)) ? [`port ${trace.port}`] : []),
      ...(existsSync(trace.dataDir) ? [`dir ${trace.dataDir}`] : []),
    ];
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

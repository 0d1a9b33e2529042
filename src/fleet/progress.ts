import type { TargetStatus } from './types.js';

/** Progress of a fleet run: targets done of total, each worker's current target, elapsed, ETA. */
export interface FleetProgress {
  start(total: number): void;
  begin(worker: number, target: string): void;
  end(worker: number, status: TargetStatus): void;
  /** A note from one target's work (e.g. a lock retry), prefixed with the target's name. */
  note(message: string): void;
  finish(): void;
}

/**
 * Like the single-database progress (src/report/progress.ts): a live line on a TTY (redrawn at
 * most 10 times a second, cut to the terminal's width), plain lines every `intervalMs` otherwise,
 * and a final line. Never on stdout.
 */
export function fleetProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  label: string,
  intervalMs = 2000,
): FleetProgress {
  const tty = stream.isTTY === true;
  const current = new Map<number, string>();
  let total = 0;
  let done = 0;
  let notOk = 0;
  let started = 0;
  let lastDraw = 0;
  let timer: NodeJS.Timeout | undefined;
  const line = () => {
    const secs = (Date.now() - started) / 1000;
    const eta =
      done > 0 && done < total ? `, ETA ${((secs / done) * (total - done)).toFixed(1)} s` : '';
    const running = [...current.values()];
    const text =
      `${label}: ${done}/${total} targets${notOk > 0 ? ` (${notOk} not ok)` : ''}` +
      `${running.length > 0 ? ` | now: ${running.join(', ')}` : ''} | ${secs.toFixed(1)} s${eta}`;
    return tty && stream.columns ? text.slice(0, stream.columns - 1) : text;
  };
  const draw = (final: boolean) => {
    const now = Date.now();
    if (!final && now - lastDraw < (tty ? 100 : intervalMs)) return;
    lastDraw = now;
    stream.write(tty ? `\r\x1b[2K${line()}${final ? '\n' : ''}` : `${line()}\n`);
  };
  return {
    start(t) {
      total = t;
      started = Date.now();
      lastDraw = tty ? 0 : started;
      // A slow target must not freeze the line: redraw on a clock too.
      timer = setInterval(() => draw(false), tty ? 250 : intervalMs);
      timer.unref();
    },
    begin(worker, target) {
      current.set(worker, target);
      draw(false);
    },
    end(worker, status) {
      current.delete(worker);
      done += 1;
      if (status !== 'ok' && status !== 'warn') notOk += 1;
      draw(false);
    },
    note(message) {
      stream.write(`${tty ? '\r\x1b[2K' : ''}${message}\n`);
    },
    finish() {
      clearInterval(timer);
      if (total > 0) draw(true);
    },
  };
}

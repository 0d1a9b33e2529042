import { statusLine } from '../report/progress.js';
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
 * Like the single-database progress (src/report/progress.ts): a live line on a TTY (cut to the
 * terminal's width), plain lines every `intervalMs` otherwise, and a final line; also redrawn on
 * a clock, so that a slow target does not freeze it. Never on stdout.
 */
export function fleetProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  label: string,
  intervalMs = 2000,
): FleetProgress {
  const out = statusLine(stream, intervalMs);
  const current = new Map<number, string>();
  let total = 0;
  let done = 0;
  let notOk = 0;
  let started = 0;
  let timer: NodeJS.Timeout | undefined;
  const line = () => {
    const secs = (Date.now() - started) / 1000;
    const eta =
      done > 0 && done < total ? `, ETA ${((secs / done) * (total - done)).toFixed(1)} s` : '';
    const running = [...current.values()];
    const text =
      `${label}: ${done}/${total} targets${notOk > 0 ? ` (${notOk} not ok)` : ''}` +
      `${running.length > 0 ? ` | now: ${running.join(', ')}` : ''} | ${secs.toFixed(1)} s${eta}`;
    return out.tty && stream.columns ? text.slice(0, stream.columns - 1) : text;
  };
  return {
    start(t) {
      total = t;
      started = Date.now();
      out.restart();
      timer = setInterval(() => out.draw(line, false), out.tty ? 250 : intervalMs);
      timer.unref();
    },
    begin(worker, target) {
      current.set(worker, target);
      out.draw(line, false);
    },
    end(worker, status) {
      current.delete(worker);
      done += 1;
      if (status !== 'ok' && status !== 'warn') notOk += 1;
      out.draw(line, false);
    },
    note: out.note,
    finish() {
      clearInterval(timer);
      if (total > 0) out.draw(line, true);
    },
  };
}

import type { Progress } from '../progress.js';

/**
 * Progress on stderr: a live line on a TTY (redrawn at most 10 times a second), plain periodic
 * lines otherwise (every `intervalMs`, default 2 s), and always a final line per phase.
 */
export function stderrProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  intervalMs = 2000,
): Progress {
  const out = statusLine(stream, intervalMs);
  let label = '';
  let total: number | undefined;
  let done = 0;
  let started = 0;
  const line = () => {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const pct = total ? ` ${Math.min(100, Math.floor((done / total) * 100))}%` : '';
    return `${label}: ${done}${total !== undefined ? `/${total}` : ''}${pct} (${secs} s)`;
  };
  return {
    start(l, t) {
      label = l;
      total = t;
      done = 0;
      started = Date.now();
      out.restart();
    },
    update(n) {
      done = n;
      out.draw(line, false);
    },
    finish() {
      out.draw(line, true);
    },
    note: out.note,
  };
}

/** One status line on a stream: redrawn in place on a TTY, plain lines every `intervalMs` otherwise. */
export interface StatusLine {
  tty: boolean;
  /** A new phase: on a TTY the next draw is immediate, otherwise after a full interval. */
  restart(): void;
  /** Draws `text()` unless the last draw was too recent; `final` always draws and ends the line. */
  draw(text: () => string, final: boolean): void;
  /** A message on its own line (clearing a live line first). */
  note(message: string): void;
}

export function statusLine(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  intervalMs: number,
): StatusLine {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  return {
    tty,
    restart() {
      lastDraw = tty ? 0 : Date.now();
    },
    draw(text, final) {
      const now = Date.now();
      if (!final && now - lastDraw < (tty ? 100 : intervalMs)) return;
      lastDraw = now;
      stream.write(tty ? `\r\x1b[2K${text()}${final ? '\n' : ''}` : `${text()}\n`);
    },
    note(message) {
      stream.write(`${tty ? '\r\x1b[2K' : ''}${message}\n`);
    },
  };
}

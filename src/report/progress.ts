import type { Progress } from '../progress.js';

/**
 * Progress on stderr: a live line on a TTY (redrawn at most 10 times a second), plain periodic
 * lines otherwise (every `intervalMs`, default 2 s), and always a final line per phase.
 */
export function stderrProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  intervalMs = 2000,
): Progress {
  const tty = stream.isTTY === true;
  let label = '';
  let total: number | undefined;
  let done = 0;
  let started = 0;
  let lastDraw = 0;
  const line = () => {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const pct = total ? ` ${Math.min(100, Math.floor((done / total) * 100))}%` : '';
    return `${label}: ${done}${total !== undefined ? `/${total}` : ''}${pct} (${secs} s)`;
  };
  const draw = (final: boolean) => {
    const now = Date.now();
    if (!final && now - lastDraw < (tty ? 100 : intervalMs)) return;
    lastDraw = now;
    stream.write(tty ? `\r\x1b[2K${line()}${final ? '\n' : ''}` : `${line()}\n`);
  };
  return {
    start(l, t) {
      label = l;
      total = t;
      done = 0;
      started = Date.now();
      lastDraw = tty ? 0 : started;
    },
    update(n) {
      done = n;
      draw(false);
    },
    finish() {
      draw(true);
    },
    note(message) {
      stream.write(`${tty ? '\r\x1b[2K' : ''}${message}\n`);
    },
  };
}

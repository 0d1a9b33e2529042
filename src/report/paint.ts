/**
 * The colours and styles dbops prints (reports, the demo), as 16-colour ANSI codes (what chalk
 * emitted at level 1), or plain text. Written out here because loading chalk cost every
 * table-printing command about 5 ms, mostly for nothing: colour is off unless stdout is a
 * terminal.
 */
export interface Paint {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  blue(text: string): string;
  gray(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const plain = (text: string) => text;
const PLAIN: Paint = {
  red: plain,
  green: plain,
  yellow: plain,
  blue: plain,
  gray: plain,
  bold: plain,
  dim: plain,
};

/** Wraps text in an SGR colour; like chalk, re-opens it after each line break and leaves '' alone. */
function sgr(open: number, close = 39): (text: string) => string {
  const on = `\u001b[${open}m`;
  const off = `\u001b[${close}m`;
  return (text) => (text === '' ? '' : `${on}${text.replace(/\r?\n/g, `${off}$&${on}`)}${off}`);
}

const ANSI: Paint = {
  red: sgr(31),
  green: sgr(32),
  yellow: sgr(33),
  blue: sgr(34),
  gray: sgr(90),
  bold: sgr(1, 22),
  dim: sgr(2, 22),
};

export function paintFor(color: boolean): Paint {
  return color ? ANSI : PLAIN;
}

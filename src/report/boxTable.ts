/**
 * The report table: fixed column widths, cells wrapped on word boundaries (a word longer than
 * its column is cut with '…'), text top-left, one space of padding, box-drawing borders, no rule
 * between body rows. It draws what cli-table3 drew with `{ colWidths, wordWrap: true,
 * wrapOnWordBoundary: true, style: { compact: true } }`, character for character
 * (test/unit/boxTable.test.ts compares the two), without loading cli-table3 and its string-width
 * dependencies: about 15 ms of every table-printing command.
 *
 * Widths count code points outside ANSI SGR sequences; the cells dbops prints are ASCII, plus
 * colour codes around the status word (a colour around several words is not re-opened on each
 * wrapped line, as cli-table3 did).
 */
/* biome-ignore-all lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are matched on purpose */
export interface BoxTableOptions {
  head: string[];
  /** Total width of each column, padding included (the border is not). */
  widths: number[];
  /** Wraps each header cell (padding included), e.g. in bold; default none. */
  styleHead?: (text: string) => string;
}

const SGR = /\u001b\[[0-9;]*m/g;

function visibleLength(text: string): number {
  return [...text.replace(SGR, '')].length;
}

/** Word wrap of one line: words joined by their original whitespace, as cli-table3 did. */
function wrapLine(width: number, line: string): string[] {
  const parts = line.split(/(\s+)/g);
  const lines: string[] = [];
  let current: string[] = [];
  let length = 0;
  let space: string | undefined;
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i]!;
    let next = length + visibleLength(word);
    if (length > 0 && space) next += space.length;
    if (next > width) {
      if (length !== 0) lines.push(current.join(''));
      current = [word];
      length = visibleLength(word);
    } else {
      current.push(space ?? '', word);
      length = next;
    }
    space = parts[i + 1];
  }
  if (length) lines.push(current.join(''));
  return lines;
}

function wrap(width: number, text: string): string[] {
  return text.split('\n').flatMap((line) => wrapLine(width, line));
}

/** Cuts to `width` visible characters, the last one '…', keeping (and closing) colour codes. */
function truncate(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  let out = '';
  let kept = 0;
  let colored = false;
  for (const token of text.split(/(\u001b\[[0-9;]*m)/g)) {
    if (token.startsWith('\u001b[')) {
      if (kept < width - 1) {
        out += token;
        colored = !/^\u001b\[(?:0|39|22)?m$/.test(token);
      }
      continue;
    }
    for (const ch of token) {
      if (kept >= width - 1) break;
      out += ch;
      kept += 1;
    }
  }
  return `${out}${colored ? '\u001b[39m' : ''}…`;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}

export function renderBoxTable(options: BoxTableOptions, rows: string[][]): string {
  const { widths } = options;
  const rule = (left: string, mid: string, right: string) =>
    `${left}${widths.map((w) => '─'.repeat(w)).join(mid)}${right}`;
  const block = (cells: string[], style: (text: string) => string = (t) => t) => {
    const wrapped = cells.map((cell, i) => (widths[i]! > 2 ? wrap(widths[i]! - 2, cell) : []));
    const height = Math.max(1, ...wrapped.map((lines) => lines.length));
    const out: string[] = [];
    for (let line = 0; line < height; line++) {
      const parts = wrapped.map((lines, i) => {
        const inner = widths[i]! - 2;
        return style(` ${pad(truncate(lines[line] ?? '', inner), inner)} `);
      });
      out.push(`│${parts.join('│')}│`);
    }
    return out;
  };
  return [
    rule('┌', '┬', '┐'),
    ...block(options.head, options.styleHead),
    rule('├', '┼', '┤'),
    ...rows.flatMap((row) => block(row)),
    rule('└', '┴', '┘'),
  ].join('\n');
}

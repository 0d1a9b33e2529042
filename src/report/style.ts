/**
 * The colours the table reports use. chalk is loaded only when colour is on: a report piped to a
 * file or CI log (stdout not a terminal, NO_COLOR, --no-color) gets the identity style and never
 * loads chalk (about 4 ms of start-up).
 */
export interface Style {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  blue(text: string): string;
  gray(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const same = (text: string) => text;

/** No colour codes. */
export const plainStyle: Style = {
  red: same,
  yellow: same,
  green: same,
  blue: same,
  gray: same,
  bold: same,
  dim: same,
};

/** chalk at level 1 (16 colours) when `color`, else plainStyle. */
export async function loadStyle(color: boolean): Promise<Style> {
  if (!color) return plainStyle;
  const { Chalk } = await import('chalk');
  return new Chalk({ level: 1 });
}

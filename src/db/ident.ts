/**
 * The one identifier-quoting helper. Names that come from users (argv, config) must be matched
 * against an allowlist first; this function then makes any name safe to paste into SQL.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('empty SQL identifier');
  if (name.includes('\u0000')) throw new Error('SQL identifier contains a NUL byte');
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.name`, each part quoted. */
export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A value that is valid as a PostgreSQL identifier without quoting surprises (for config keys). */
export function isPlainIdentifier(name: string): boolean {
  return /^[a-z_][a-z0-9_$]{0,62}$/.test(name);
}

/** A string literal for SQL text the family builds itself (catalog names, comments), quotes doubled. */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

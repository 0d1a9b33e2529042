/**
 * The one way the partition family's online steps reach the database: node-pg-migrate's
 * `pgm.db` (each statement autocommits unless wrapped in inTransaction).
 */
export interface Sql {
  /** `text` may be a named (prepared, cached per connection) statement. */
  query(
    text: string | { name: string; text: string },
    values?: unknown[],
  ): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

type Statement = Parameters<Sql['query']>[0];

export async function rowsOf<T>(sql: Sql, text: Statement, values?: unknown[]): Promise<T[]> {
  return (await sql.query(text, values)).rows as T[];
}

export async function oneRow<T>(sql: Sql, text: Statement, values?: unknown[]): Promise<T> {
  const [row] = await rowsOf<T>(sql, text, values);
  if (row === undefined) {
    throw new Error(
      `expected one row from: ${(typeof text === 'string' ? text : text.text).slice(0, 80)}`,
    );
  }
  return row;
}

/** BEGIN/COMMIT around fn; ROLLBACK (and rethrow) if it throws. */
export async function inTransaction<T>(
  sql: Sql,
  fn: () => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  await sql.query(begin);
  try {
    const result = await fn();
    await sql.query('COMMIT');
    return result;
  } catch (err) {
    await sql.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The relation `name` exists in the current schema (first on search_path while migrating). */
export async function relationExists(sql: Sql, name: string): Promise<boolean> {
  const row = await oneRow<{ ok: boolean }>(
    sql,
    `SELECT EXISTS (SELECT 1 FROM pg_class c
                     WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace) AS ok`,
    [name],
  );
  return row.ok;
}

/** 'list' or 'hash': how the live chunks table is partitioned now. */
export async function liveLayoutKind(sql: Sql): Promise<'list' | 'hash' | undefined> {
  const [row] = await rowsOf<{ strategy: string }>(
    sql,
    `SELECT pt.partstrat AS strategy
       FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid
      WHERE c.relname = 'chunks' AND c.relnamespace = current_schema()::regnamespace`,
  );
  if (row?.strategy === 'l') return 'list';
  if (row?.strategy === 'h') return 'hash';
  return undefined;
}

/** For --dry-run: statements and `--` comment lines as one script (a semicolon after statements only). */
export function planText(parts: string[]): string {
  const endsInComment = (p: string) => p.trimEnd().split('\n').at(-1)!.trimStart().startsWith('--');
  return parts.map((p) => (endsInComment(p) ? p : `${p.trimEnd()};`)).join('\n');
}

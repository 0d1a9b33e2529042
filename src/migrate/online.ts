/**
 * Building blocks for online (pgm.noTransaction()) migrations: each statement autocommits, and
 * each helper is idempotent, because an interrupted online migration is not recorded and runs
 * again from the start. In a dry run nothing is executed: the statements are recorded instead.
 * Names are unqualified and resolve through search_path (the family's schema).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { quoteIdent } from '../db/ident.js';
import type { MigrationContext } from './context.js';

/** Executes one autocommitted statement, or records it in a dry run. */
export async function execOnline(
  pgm: MigrationBuilder,
  ctx: MigrationContext,
  sql: string,
): Promise<void> {
  if (ctx.dryRun) pgm.sql(sql);
  else await pgm.db.query(sql);
}

/** 'valid', 'invalid' (left by an interrupted or failed concurrent build) or 'missing'. */
export async function indexState(
  pgm: MigrationBuilder,
  name: string,
): Promise<'valid' | 'invalid' | 'missing'> {
  const rows = await pgm.db.select(
    `SELECT i.indisvalid AND i.indisready AS valid
       FROM pg_index i WHERE i.indexrelid = to_regclass($1)`,
    [quoteIdent(name)],
  );
  const row = rows[0] as { valid: boolean } | undefined;
  if (!row) return 'missing';
  return row.valid ? 'valid' : 'invalid';
}

export interface IndexSpec {
  /** Index name (unqualified; created in the family's schema). */
  name: string;
  /** Everything after `ON`: table, optional USING, columns, INCLUDE, WHERE. Trusted migration text. */
  on: string;
  unique?: boolean;
}

/**
 * CREATE INDEX CONCURRENTLY, idempotently. The build takes SHARE UPDATE EXCLUSIVE on the table:
 * reads and writes go on; it waits (under lock_timeout) for transactions older than itself.
 * A valid index of that name is kept as is. An INVALID one (an earlier build was interrupted,
 * timed out or hit a duplicate) is dropped concurrently and built again: IF NOT EXISTS alone
 * would keep the broken index forever, and PostgreSQL never uses it for reads nor for
 * uniqueness of existing rows.
 */
export async function createIndexConcurrently(
  pgm: MigrationBuilder,
  ctx: MigrationContext,
  spec: IndexSpec,
): Promise<'created' | 'rebuilt' | 'kept'> {
  const create = `CREATE ${spec.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${quoteIdent(spec.name)} ON ${spec.on}`;
  if (ctx.dryRun) {
    pgm.sql(
      `-- skipped if ${spec.name} exists and is valid; dropped and rebuilt if INVALID\n${create}`,
    );
    return 'created';
  }
  const state = await indexState(pgm, spec.name);
  if (state === 'valid') return 'kept';
  if (state === 'invalid') await dropIndexConcurrently(pgm, ctx, spec.name);
  await pgm.db.query(create);
  return state === 'invalid' ? 'rebuilt' : 'created';
}

/** DROP INDEX CONCURRENTLY IF EXISTS: waits for readers of the index instead of blocking them. */
export async function dropIndexConcurrently(
  pgm: MigrationBuilder,
  ctx: MigrationContext,
  name: string,
): Promise<void> {
  await execOnline(pgm, ctx, `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(name)}`);
}

export interface CheckSpec {
  table: string;
  name: string;
  /** The boolean expression (trusted migration text). */
  check: string;
}

/**
 * Adds a CHECK constraint without a long lock, idempotently: ADD ... NOT VALID (ACCESS EXCLUSIVE
 * on the table for milliseconds: no scan, only new and updated rows are checked from then on),
 * skipped when a constraint of that name exists, then VALIDATE CONSTRAINT, which scans the table
 * under SHARE UPDATE EXCLUSIVE (reads and writes go on) and is a no-op when already valid.
 */
export async function addCheckConstraintOnline(
  pgm: MigrationBuilder,
  ctx: MigrationContext,
  spec: CheckSpec,
): Promise<void> {
  const table = quoteIdent(spec.table);
  const name = quoteIdent(spec.name);
  const add = `ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (${spec.check}) NOT VALID`;
  if (ctx.dryRun) pgm.sql(`-- skipped if ${spec.name} exists\n${add}`);
  else if (!(await constraintExists(pgm, spec.table, spec.name))) await pgm.db.query(add);
  await execOnline(pgm, ctx, `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name}`);
}

async function constraintExists(
  pgm: MigrationBuilder,
  table: string,
  name: string,
): Promise<boolean> {
  const rows = await pgm.db.select(
    'SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2',
    [quoteIdent(table), name],
  );
  return rows.length > 0;
}

import { quoteIdent, quoteLiteral } from '../../../db/ident.js';
import { InterruptedError } from '../../../errors.js';
import type { MigrationContext } from '../../../migrate/context.js';
import { CHANGES_TABLE } from './capture.js';
import { drainChanges } from './catchUp.js';
import { type IndexSpec, type Layout, lockReferencedSql, replicaIndexSql } from './layouts.js';
import { withShortLocks } from './locks.js';
import { relationExists, rowsOf, type Sql } from './sql.js';

/**
 * Turns a filled staging table into a complete one: constraints and indexes built partition by
 * partition, foreign keys added without a long lock, replica identity USING INDEX, statistics. Every step looks at the catalog
 * first, so a rerun after an interruption continues where the last one stopped.
 *
 * Locks (the staging table has no readers; its only writers are our catch-up and the ON DELETE
 * CASCADE of a document or collection delete):
 * - One partition at a time, its indexes (six for the seed shape) are built in one transaction that holds ACCESS
 *   EXCLUSIVE on that partition (ADD PRIMARY KEY / UNIQUE) for those builds (a fraction of a
 *   second at 20k rows per partition): a cascaded delete into that partition waits that long.
 *   CREATE INDEX CONCURRENTLY would avoid even that but costs ~100 ms of fixed overhead per
 *   index, and there are hundreds.
 * - ADD FOREIGN KEY ... NOT VALID on a partition holds SHARE ROW EXCLUSIVE on collections and
 *   documents (taken first: see lockReferencedSql) for milliseconds; VALIDATE holds only SHARE
 *   UPDATE EXCLUSIVE on the partition and ROW SHARE on the referenced table (writers go on). The
 *   parent-level foreign key then adopts the validated partition constraints without scanning,
 *   but holds ACCESS EXCLUSIVE on its referenced table meanwhile (see addForeignKeys; measured
 *   30-115 ms per foreign key with 100 partitions, whatever the row count). Adding it on the
 *   parent directly would validate every row while holding SHARE ROW EXCLUSIVE on documents,
 *   blocking document writes for seconds at 2M rows, and longer the larger the table.
 */

/**
 * Rows of keys that changed during the copy may be in the staging table twice (a row version
 * copied, then updated to a block the copy had not reached). Removing every staging row of a
 * recorded key makes the primary key buildable; the catch-up inserts those keys again.
 */
export function dedupeSql(staging: Layout): string {
  return `DELETE FROM ${staging.staging} t
 USING (SELECT DISTINCT id, collection_id FROM ${CHANGES_TABLE}) k
 WHERE ${staging.keyMatch('t', 'k')}`;
}

export async function completeStaging(
  sql: Sql,
  ctx: MigrationContext,
  live: Layout,
  staging: Layout,
): Promise<void> {
  const removed = await sql.query(dedupeSql(staging));
  if ((removed.rowCount ?? 0) > 0) {
    ctx.progress.note(`removed ${removed.rowCount} copied rows whose keys changed during the copy`);
  }
  await buildIndexes(sql, ctx, staging);
  await addForeignKeys(sql, ctx, live, staging);
  const replica = replicaIndexSql(staging);
  if (replica.length > 0) await sql.query(replica.join(';\n'));
  ctx.progress.note(`analyzing ${staging.staging}`);
  await sql.query(`ANALYZE ${staging.staging}`);
}

/** Index name -> attached to a parent index? for every index in the current schema. */
async function existingIndexes(sql: Sql): Promise<Map<string, boolean>> {
  const rows = await rowsOf<{ name: string; attached: boolean }>(
    sql,
    `SELECT c.relname AS name, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AS attached
       FROM pg_class c
      WHERE c.relkind IN ('i', 'I') AND c.relnamespace = current_schema()::regnamespace`,
  );
  return new Map(rows.map((r) => [r.name, r.attached]));
}

/**
 * Each parent index is created ON ONLY the parent (invalid until every partition's index is
 * attached; from then on PostgreSQL creates it on any partition attached later), then, one
 * partition at a time, built on the partition and attached: all of a partition in one
 * multi-statement transaction (one round trip and one commit instead of twelve).
 */
async function buildIndexes(sql: Sql, ctx: MigrationContext, staging: Layout): Promise<void> {
  const existing = await existingIndexes(sql);
  for (const ix of staging.indexes) {
    if (!existing.has(ix.staging)) await sql.query(parentIndexSql(staging, ix));
  }
  ctx.progress.start(`build indexes of ${staging.staging} (partitions)`, staging.partitions.length);
  let done = 0;
  for (const p of staging.partitions) {
    if (ctx.signal.aborted) throw new InterruptedError('interrupted while building indexes');
    const statements = staging.indexes.flatMap((ix) => {
      const name = ix.onPartition(p.name);
      return [
        ...(existing.has(name) ? [] : [partitionIndexSql(p.name, name, ix)]),
        ...(existing.get(name) === true
          ? []
          : [`ALTER INDEX ${quoteIdent(ix.staging)} ATTACH PARTITION ${quoteIdent(name)}`]),
      ];
    });
    if (statements.length > 0) await sql.query(statements.join(';\n'));
    ctx.progress.update(++done);
  }
  ctx.progress.finish();
}

export function parentIndexSql(staging: Layout, ix: IndexSpec): string {
  const comment = ix.comment
    ? `;\nCOMMENT ON INDEX ${quoteIdent(ix.staging)} IS ${quoteLiteral(ix.comment)}`
    : '';
  if (ix.constraint) {
    return `ALTER TABLE ONLY ${staging.staging} ADD CONSTRAINT ${quoteIdent(ix.staging)} ${ix.constraint}${comment}`;
  }
  return `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(ix.staging)} ON ONLY ${staging.staging} ${ix.body}${comment}`;
}

export function partitionIndexSql(partition: string, name: string, ix: IndexSpec): string {
  if (ix.constraint) {
    return `ALTER TABLE ${quoteIdent(partition)} ADD CONSTRAINT ${quoteIdent(name)} ${ix.constraint}`;
  }
  return `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(name)} ON ${quoteIdent(partition)} ${ix.body}`;
}

/**
 * Runs statements that lock collections and documents in one short-lock transaction (see
 * withShortLocks): `lock` first, then the statements, as one round trip.
 */
function onReferenced(
  sql: Sql,
  ctx: MigrationContext,
  lock: string,
  statements: string[],
): Promise<unknown> {
  return withShortLocks(sql, ctx, 'foreign keys', () =>
    sql.query([lock, ...statements].join(';\n')),
  );
}

/** (table, constraint) -> validated, for the foreign keys on the staging table and its partitions. */
async function existingForeignKeys(sql: Sql, staging: Layout): Promise<Map<string, boolean>> {
  const rows = await rowsOf<{ rel: string; name: string; valid: boolean }>(
    sql,
    `SELECT c.relname AS rel, con.conname AS name, con.convalidated AS valid
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
      WHERE con.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
        AND c.relname = ANY ($1)`,
    [[staging.staging, ...staging.partitions.map((p) => p.name)]],
  );
  return new Map(rows.map((r) => [`${r.rel}.${r.name}`, r.valid]));
}

async function addForeignKeys(
  sql: Sql,
  ctx: MigrationContext,
  live: Layout,
  staging: Layout,
): Promise<void> {
  let existing = await existingForeignKeys(sql, staging);
  const missingOnParent = staging.foreignKeys.filter(
    (fk) => !existing.has(`${staging.staging}.${fk.name}`),
  );
  if (missingOnParent.length === 0) return;
  ctx.progress.note(`adding foreign keys to ${staging.staging} (NOT VALID per partition)`);
  for (const p of staging.partitions) {
    const statements = missingOnParent
      .filter((fk) => !existing.has(`${p.name}.${fk.onPartition(p.name)}`))
      .map(
        (fk) =>
          `ALTER TABLE ${quoteIdent(p.name)} ADD CONSTRAINT ${quoteIdent(fk.onPartition(p.name))} ${fk.definition} NOT VALID`,
      );
    if (statements.length > 0)
      await onReferenced(sql, ctx, lockReferencedSql(staging, 'SHARE ROW EXCLUSIVE'), statements);
  }
  // From here a delete of a document or collection cascades into the staging table too, so no
  // new row can lose its parent; rows whose parent went during the copy have a recorded change
  // (the cascade deleted the live row), and the catch-up removes them.
  await drainChanges(sql, ctx, live, staging);
  existing = await existingForeignKeys(sql, staging);
  ctx.progress.start(
    `validate foreign keys of ${staging.staging} (partitions)`,
    staging.partitions.length,
  );
  let done = 0;
  for (const p of staging.partitions) {
    if (ctx.signal.aborted) throw new InterruptedError('interrupted while validating foreign keys');
    const statements = missingOnParent
      .filter((fk) => existing.get(`${p.name}.${fk.onPartition(p.name)}`) !== true)
      .map(
        (fk) =>
          `ALTER TABLE ${quoteIdent(p.name)} VALIDATE CONSTRAINT ${quoteIdent(fk.onPartition(p.name))}`,
      );
    if (statements.length > 0) await sql.query(statements.join(';\n'));
    ctx.progress.update(++done);
  }
  ctx.progress.finish();
  // The parent constraint adopts the partitions' ones and drops the triggers each of them had put
  // on the referenced table: dropping a trigger takes ACCESS EXCLUSIVE there (the application's
  // foreign key checks wait for it), so that lock is taken first, explicitly, and each foreign key
  // is attached in its own transaction, locking only its own referenced table.
  for (const fk of missingOnParent) {
    await onReferenced(sql, ctx, `LOCK TABLE ${fk.references} IN ACCESS EXCLUSIVE MODE`, [
      `ALTER TABLE ${staging.staging} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.definition}`,
    ]);
  }
}

/**
 * Drops every foreign key, constraint and index of the staging table and its partitions (the
 * down of completeStaging, also after an interrupted one left partition-level pieces that were
 * never attached). Dropping the foreign keys holds ACCESS EXCLUSIVE on collections and documents
 * (PostgreSQL's rule) for one short transaction; each index goes in its own.
 */
export async function stripStaging(
  sql: Sql,
  ctx: MigrationContext,
  staging: Layout,
): Promise<void> {
  await dropStagingForeignKeys(sql, ctx, staging);
  for (const ix of staging.indexes) {
    await sql.query(
      ix.constraint
        ? `ALTER TABLE ${staging.staging} DROP CONSTRAINT IF EXISTS ${quoteIdent(ix.staging)}`
        : `DROP INDEX IF EXISTS ${quoteIdent(ix.staging)}`,
    );
  }
  const partitions = staging.partitions.map((p) => p.name);
  const leftover = await rowsOf<{ rel: string; name: string; kind: 'constraint' | 'index' }>(
    sql,
    `SELECT c.relname AS rel, con.conname AS name, 'constraint' AS kind
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
      WHERE con.contype IN ('f', 'p', 'u') AND c.relname = ANY ($1)
        AND c.relnamespace = current_schema()::regnamespace
     UNION ALL
     SELECT c.relname, ic.relname, 'index'
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
      WHERE c.relname = ANY ($1) AND c.relnamespace = current_schema()::regnamespace
        AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
      ORDER BY kind`,
    [partitions],
  );
  for (const r of leftover) {
    const drop =
      r.kind === 'constraint'
        ? `ALTER TABLE ${quoteIdent(r.rel)} DROP CONSTRAINT IF EXISTS ${quoteIdent(r.name)}`
        : `DROP INDEX IF EXISTS ${quoteIdent(r.name)}`;
    if (r.kind === 'constraint')
      await onReferenced(sql, ctx, lockReferencedSql(staging, 'ACCESS EXCLUSIVE'), [drop]);
    else await sql.query(drop);
  }
}

/**
 * Drops a staging (or retired) table without holding collections and documents for long:
 * dropping a table that has foreign keys takes ACCESS EXCLUSIVE on the referenced tables for the
 * whole DROP (hundreds of ms for 16 partitions and their indexes), so the foreign keys go first,
 * in one short transaction (the forward swap already dropped them), and the table after, locking
 * nothing else.
 */
export async function dropStaging(sql: Sql, ctx: MigrationContext, staging: Layout): Promise<void> {
  if (!(await relationExists(sql, staging.staging))) return;
  await dropStagingForeignKeys(sql, ctx, staging);
  await sql.query(`DROP TABLE ${staging.staging}`);
}

/**
 * Drops the staging table's foreign keys in one short transaction that locks their parents
 * (ACCESS EXCLUSIVE, bounded by lock_timeout); nothing when it has none.
 */
async function dropStagingForeignKeys(
  sql: Sql,
  ctx: MigrationContext,
  staging: Layout,
): Promise<void> {
  if (!(await hasForeignKeys(sql, staging.staging))) return;
  await onReferenced(
    sql,
    ctx,
    lockReferencedSql(staging, 'ACCESS EXCLUSIVE'),
    staging.foreignKeys.map(
      (fk) => `ALTER TABLE ${staging.staging} DROP CONSTRAINT IF EXISTS ${quoteIdent(fk.name)}`,
    ),
  );
}

/** The table or one of its partitions has a foreign key (whose drop would lock its parents). */
async function hasForeignKeys(sql: Sql, table: string): Promise<boolean> {
  const [row] = await rowsOf<{ ok: boolean }>(
    sql,
    `SELECT EXISTS (
       SELECT 1 FROM pg_constraint con
        WHERE con.contype = 'f'
          AND (con.conrelid = $1::regclass
               OR con.conrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::regclass))) AS ok`,
    [quoteIdent(table)],
  );
  return row?.ok === true;
}

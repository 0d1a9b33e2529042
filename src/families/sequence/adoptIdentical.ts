/**
 * The operator's indexes and CHECK constraints that already carry a name 0008/0009 create and
 * are identical to what they would create (Nova's 060 run by hand gives
 * idx_messages_conversation_ts_id exactly): dbops keeps them in place instead of refusing them.
 *
 * Identical means pg_get_indexdef / pg_get_constraintdef print exactly what the family's object
 * prints (same table, access method, uniqueness, columns, expressions, opclasses, collations,
 * INCLUDE, predicate, storage parameters; a CHECK's expression, NO INHERIT), and the index is
 * valid and ready (an INVALID one left by an interrupted CREATE INDEX CONCURRENTLY is refused
 * like any other: it is not usable) and the CHECK validated. Only objects on columns that
 * existed before the family are listed: the indexes on content_tsv and on sequence_number are
 * not (an existing content_tsv is refused; a unique index on sequence_number would make the
 * in-place renumbering of an adopted column fail, see preflight.ts), nor the CHECK on
 * last_sequence_number (refused as a column).
 *
 * 0001 (the first migration of a fresh up, when nothing of the family exists yet) records each
 * one in dbops.adopted (kind 'kept index' / 'kept constraint', definition as printed): 0008 and
 * 0009 then find it valid and keep it (no build, no scan), `check schema` sees the family's name,
 * 0008's and 0009's down leave it, and 0001's down forgets the records. Recording later (in
 * 0008) could not tell the operator's object from dbops' own left by an interrupted run.
 *
 * An identical index under another name is not taken over (the family's checks and down go by
 * name): 0008 builds the family's beside it; the preflight says so (duplicateIndexesSql), and
 * that renaming it to the family's name before up makes it kept.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { escapeLiteral } from 'pg';
import { forgetKeptSql, keepIdenticalSql, readOriginal } from '../../migrate/adopt.js';

interface Kept {
  kind: 'kept index' | 'kept constraint';
  table: string;
  name: string;
  /** What PostgreSQL prints: after `ON <schema>.<table> ` for an index, the whole CHECK (...). */
  printed: string;
}

/** Must print exactly as 0008/0009 create them (sequence-adopt-index.test.ts checks it). */
export const IDENTICAL_ADOPTABLE: Kept[] = [
  {
    kind: 'kept index',
    table: 'messages',
    name: 'idx_messages_conversation_ts_id',
    printed: 'USING btree (conversation_id, created_at DESC, id DESC) WHERE (deleted_at IS NULL)',
  },
  {
    kind: 'kept index',
    table: 'conversation_members',
    name: 'idx_conversation_members_user_conversation',
    printed: 'USING btree (user_id, conversation_id) INCLUDE (is_archived, last_read_at)',
  },
  {
    kind: 'kept constraint',
    table: 'messages',
    name: 'chk_sequence_number_positive',
    printed: 'CHECK ((sequence_number > 0))',
  },
  {
    kind: 'kept constraint',
    table: 'conversations',
    name: 'chk_member_count_positive',
    printed: 'CHECK (((member_count IS NOT NULL) AND (member_count >= 0)))',
  },
];

/**
 * A kept object's name: index, or table.constraint. dbops.adopted holds it after the schema
 * (the family applied to another schema of the database must not take it for its own).
 */
export function keptName(kind: Kept['kind'], table: string, name: string): string {
  return kind === 'kept index' ? name : `${table}.${name}`;
}

/**
 * A SELECT of (kind, name, object, definition) for every identical object in the schema that
 * `schemaSql` evaluates to (`$1` in the preflight, current_schema() in a migration).
 */
export function identicalSql(schemaSql: string): string {
  const values = IDENTICAL_ADOPTABLE.map(
    (k) =>
      `(${[k.kind, keptName(k.kind, k.table, k.name), k.table, k.name, k.printed].map(escapeLiteral).join(', ')})`,
  ).join(',\n         ');
  return `SELECT w.kind, format('%s.%s', ${schemaSql}::text, w.key) AS name, w.obj AS object, d.definition
  FROM (VALUES ${values}) AS w(kind, key, tbl, obj, printed)
  CROSS JOIN LATERAL (
    SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i
     WHERE w.kind = 'kept index'
       AND i.indexrelid = to_regclass(format('%I.%I', ${schemaSql}::text, w.obj))
       AND i.indrelid = to_regclass(format('%I.%I', ${schemaSql}::text, w.tbl))
       AND i.indisvalid AND i.indisready AND i.indislive
       AND pg_get_indexdef(i.indexrelid) = format('CREATE INDEX %I ON %I.%I %s', w.obj, ${schemaSql}::text, w.tbl, w.printed)
    UNION ALL
    SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
     WHERE w.kind = 'kept constraint'
       AND c.conrelid = to_regclass(format('%I.%I', ${schemaSql}::text, w.tbl))
       AND c.conname = w.obj AND c.contype = 'c' AND c.convalidated
       AND pg_get_constraintdef(c.oid) = w.printed) d`;
}

/**
 * A SELECT of (index, family) for valid indexes (schema-qualified) of the schema ($1) identical to an adoptable one
 * of the family's but named otherwise.
 */
export function duplicateIndexesSql(): string {
  const values = IDENTICAL_ADOPTABLE.filter((k) => k.kind === 'kept index')
    .map((k) => `(${[k.table, k.name, k.printed].map(escapeLiteral).join(', ')})`)
    .join(', ');
  return `SELECT format('%I.%I', $1::text, c.relname) AS index, w.obj AS family
  FROM (VALUES ${values}) AS w(tbl, obj, printed)
  JOIN pg_index i ON i.indrelid = to_regclass(format('%I.%I', $1::text, w.tbl))
                 AND i.indisvalid AND i.indisready AND i.indislive
  JOIN pg_class c ON c.oid = i.indexrelid AND c.relname <> w.obj
 WHERE pg_get_indexdef(i.indexrelid) = format('CREATE INDEX %I ON %I.%I %s', c.relname, $1::text, w.tbl, w.printed)
 ORDER BY 1`;
}

/** 0001's up: records the identical objects (nothing of the family exists yet). */
export const KEEP_IDENTICAL_SQL = keepIdenticalSql('sequence', identicalSql('current_schema()'));

/** 0001's down, last: forgets them (0008's and 0009's down have left them in place). */
export const FORGET_KEPT_SQL = forgetKeptSql('sequence');

/** True when the object is the operator's, kept in place of the family's (down leaves it). */
export async function isKept(
  pgm: MigrationBuilder,
  schema: string,
  kind: Kept['kind'],
  table: string,
  name: string,
): Promise<boolean> {
  const key = `${schema}.${keptName(kind, table, name)}`;
  return (await readOriginal(pgm.db, 'sequence', kind, key)) !== undefined;
}

/**
 * Objects of the deployment that already carry a name the family's migrations create. A fresh
 * `up` cannot meet one of its own (nothing of the family is applied), so such an object is the
 * operator's: an index or CHECK of that name would be kept in place of the family's (0008 and
 * 0009 skip a name that exists, whatever its definition) and `migrate down` would then drop
 * the operator's object; a trigger or function of that name makes its migration fail halfway.
 * Refused in the preflight, naming each object and how to get it out of the way, except the
 * names in `skip`: identical ones that dbops keeps (adoptIdentical.ts), and unique indexes the
 * preflight refuses for another reason.
 */
import type pg from 'pg';
import { migrationManifests } from '../../migrate/files.js';
import { sequenceFamily } from './family.js';

/** 0009's CHECK constraints (that migration declares no manifest for them). */
const CHECK_CONSTRAINTS: [table: string, name: string][] = [
  ['messages', 'chk_sequence_number_positive'],
  ['conversations', 'chk_member_count_positive'],
  ['conversations', 'chk_last_sequence_number_nonnegative'],
];

const COLLISIONS_SQL = `
SELECT format('index %I.%I already exists (%s%s)', $1::text, c.relname, coalesce(pg_get_indexdef(c.oid), 'a relation of kind ' || c.relkind::text),
              CASE WHEN NOT (i.indisvalid AND i.indisready) THEN '; INVALID: left by an interrupted or failed CREATE INDEX CONCURRENTLY' ELSE '' END) AS what,
       format('ALTER INDEX %I.%I RENAME TO <another name>', $1::text, c.relname) AS fix,
       w.migration, true AS kept
  FROM unnest($2::text[], $3::text[]) AS w(name, migration)
  JOIN pg_class c ON c.relname = w.name AND c.relnamespace = to_regnamespace(quote_ident($1::text))
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
 WHERE c.relname <> ALL ($11::text[])
UNION ALL
SELECT format('constraint %s on %I.%I already exists (%s)', con.conname, $1::text, w.t, pg_get_constraintdef(con.oid)),
       format('ALTER TABLE %I.%I RENAME CONSTRAINT %I TO <another name>', $1::text, w.t, con.conname),
       '0009_sequence_constraints', true
  FROM unnest($4::text[], $5::text[]) AS w(t, name)
  JOIN pg_constraint con ON con.conname = w.name AND con.conrelid = to_regclass(format('%I.%I', $1::text, w.t))
 WHERE con.conname <> ALL ($11::text[])
UNION ALL
SELECT format('trigger %s on %I.%I already exists', t.tgname, $1::text, w.t),
       format('ALTER TRIGGER %I ON %I.%I RENAME TO <another name>', t.tgname, $1::text, w.t),
       w.migration, false
  FROM unnest($6::text[], $7::text[], $8::text[]) AS w(t, name, migration)
  JOIN pg_trigger t ON t.tgname = w.name AND t.tgrelid = to_regclass(format('%I.%I', $1::text, w.t))
UNION ALL
SELECT format('function %I.%I(%s) already exists', $1::text, p.proname, pg_get_function_identity_arguments(p.oid)),
       format('ALTER FUNCTION %I.%I(%s) RENAME TO <another name>', $1::text, p.proname, pg_get_function_identity_arguments(p.oid)),
       w.migration, false
  FROM unnest($9::text[], $10::text[]) AS w(name, migration)
  JOIN pg_proc p ON p.proname = w.name AND p.pronamespace = to_regnamespace(quote_ident($1::text))`;

/** One problem line per object of the deployment that has a name the family creates. */
export async function nameCollisions(
  client: pg.ClientBase,
  schema: string,
  skip: string[],
): Promise<string[]> {
  const indexes: [string, string][] = [];
  const triggers: [string, string, string][] = [];
  const functions: [string, string][] = [];
  for (const { file, installs } of await migrationManifests(sequenceFamily)) {
    for (const i of installs.indexes ?? []) indexes.push([i.name, file.name]);
    for (const t of installs.triggers ?? []) triggers.push([t.table, t.name, file.name]);
    for (const f of installs.functions ?? []) functions.push([f.name, file.name]);
  }
  const { rows } = await client.query<{
    what: string;
    fix: string;
    migration: string;
    kept: boolean;
  }>(COLLISIONS_SQL, [
    schema,
    indexes.map((i) => i[0]),
    indexes.map((i) => i[1]),
    CHECK_CONSTRAINTS.map((c) => c[0]),
    CHECK_CONSTRAINTS.map((c) => c[1]),
    triggers.map((t) => t[0]),
    triggers.map((t) => t[1]),
    triggers.map((t) => t[2]),
    functions.map((f) => f[0]),
    functions.map((f) => f[1]),
    skip,
  ]);
  return rows.map(
    (r) =>
      `${r.what}: ${r.migration} creates one of that name` +
      (r.kept
        ? ', would keep yours in place of its own, and migrate down would drop yours'
        : ' and would fail on it halfway through up') +
      `; rename yours (${r.fix}), or drop it if it is dbops' own left behind`,
  );
}

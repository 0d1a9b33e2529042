import type pg from 'pg';
import { catalogSnapshot } from './db.js';

/**
 * A full catalog snapshot of the given schemas, names included: everything catalogSnapshot
 * lists (relations, columns, constraints, indexes, triggers, functions, partition bounds) plus
 * owners and ACLs (column ACLs too), which column owns each sequence, comments (constraints' too), view and
 * materialized view definitions (and whether populated), which index is attached to which parent
 * index, and full function definitions. Two snapshots are equal iff a `down` restored every name
 * and definition. Also each column's statistics target, storage and attribute options (PostgreSQL's
 * own `pg_` entries, which a build may stamp with a per-table value, left out), replica
 * identities, and publication membership with row filters and column lists.
 */
export async function fullCatalogSnapshot(
  client: pg.ClientBase,
  schemas: string[],
): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(
    `WITH ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = ANY($1))
     SELECT line FROM (
       SELECT format('owner %s.%s %s acl=%s', ns.nspname, c.relname, pg_get_userbyid(c.relowner), c.relacl) AS line
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
       UNION ALL
       SELECT format('comment %s.%s %s', ns.nspname, c.relname, obj_description(c.oid, 'pg_class'))
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE obj_description(c.oid, 'pg_class') IS NOT NULL
       UNION ALL
       SELECT format('comment constraint %s.%s.%s %s', ns.nspname, c.relname, con.conname, obj_description(con.oid, 'pg_constraint'))
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN ns ON ns.oid = c.relnamespace
        WHERE obj_description(con.oid, 'pg_constraint') IS NOT NULL
       UNION ALL
       SELECT format('comment %s.%s.%s %s', ns.nspname, c.relname, a.attname, col_description(c.oid, a.attnum))
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
        WHERE a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NOT NULL
       UNION ALL
       SELECT format('colacl %s.%s.%s %s', ns.nspname, c.relname, a.attname, a.attacl)
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
        WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
       UNION ALL
       SELECT format('colset %s.%s.%s stat=%s storage=%s opts=%s', ns.nspname, c.relname, a.attname, a.attstattarget,
                     a.attstorage, (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_%'))
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
        WHERE a.attnum > 0 AND NOT a.attisdropped
       UNION ALL
       SELECT format('replident %s.%s %s %s', ns.nspname, c.relname, c.relreplident,
                     (SELECT ri.relname FROM pg_index x JOIN pg_class ri ON ri.oid = x.indexrelid
                       WHERE x.indrelid = c.oid AND x.indisreplident))
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm')
       UNION ALL
       SELECT format('publication %s %s.%s where=%s cols=%s', pb.pubname, ns.nspname, c.relname,
                     pg_get_expr(pr.prqual, pr.prrelid),
                     (SELECT array_agg(a.attname ORDER BY x.n) FROM unnest(pr.prattrs::int2[]) WITH ORDINALITY x(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.attnum))
         FROM pg_publication_rel pr JOIN pg_publication pb ON pb.oid = pr.prpubid
         JOIN pg_class c ON c.oid = pr.prrelid JOIN ns ON ns.oid = c.relnamespace
       UNION ALL
       SELECT format('owned-by %s.%s %s.%s', ns.nspname, s.relname, t.relname, a.attname)
         FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         JOIN ns ON ns.oid = s.relnamespace JOIN pg_class t ON t.oid = d.refobjid
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       UNION ALL
       SELECT format('collation %s.%s.%s %s', ns.nspname, c.relname, a.attname, a.attcollation::regcollation)
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
         JOIN pg_type ty ON ty.oid = a.atttypid
        WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attcollation <> ty.typcollation
       UNION ALL
       SELECT format('view %s.%s kind=%s populated=%s %s', ns.nspname, c.relname, c.relkind, c.relispopulated, pg_get_viewdef(c.oid))
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('v', 'm')
       UNION ALL
       SELECT format('attach %s.%s <- %s', ns.nspname, p.relname, ch.relname)
         FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_class ch ON ch.oid = i.inhrelid
         JOIN ns ON ns.oid = p.relnamespace
       UNION ALL
       SELECT format('fndef %s.%s(%s) %s', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid))
         FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace WHERE p.prokind IN ('f', 'p')
       UNION ALL
       SELECT format('index-of-constraint %s.%s %s', ns.nspname, con.conname, ic.relname)
         FROM pg_constraint con JOIN pg_class ic ON ic.oid = con.conindid JOIN ns ON ns.oid = con.connamespace
     ) s ORDER BY line`,
    [schemas],
  );
  return [...(await catalogSnapshot(client, schemas)), ...rows.map((r) => r.line)].sort();
}

/** Lines only in `before` (removed) and only in `after` (added): both empty iff equal. */
export function diffCatalog(
  before: string[],
  after: string[],
): { removed: string[]; added: string[] } {
  const a = new Set(after);
  const b = new Set(before);
  return {
    removed: before.filter((l) => !a.has(l)),
    added: after.filter((l) => !b.has(l)),
  };
}

/**
 * The catalog snapshot as one JSON document. $1 schema, $2 table names, $3 function names,
 * $4 type names. Tables are described in full (columns, constraints, indexes, triggers with the
 * columns an UPDATE fires them on, foreign keys in, views reading them, partitions); `relations`
 * lists every relation of the schema whose name is asked for anywhere, so a preflight can tell a
 * name clash with an index or a view as well as with a table.
 */
/**
 * `PRIVILEGE TO grantee [WITH GRANT OPTION]` for each entry of the ACL of relation alias.oid, in
 * ACL order (the owner's own entries included: granting them again changes nothing); see
 * grantSql. Empty for a default (NULL) ACL.
 */
const ACL_GRANTS_SQL = (acl: string) => `SELECT format('%s TO %s%s', x.privilege_type,
         CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
         CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS g
    FROM unnest(${acl}) WITH ORDINALITY a(item, n), LATERAL aclexplode(ARRAY[a.item]) x
   ORDER BY a.n, x.privilege_type`;
const GRANTS_SQL = (alias: string) => ACL_GRANTS_SQL(`${alias}.relacl`);

/**
 * A column's own settings (attribute alias a of relation alias rel, type alias ty): statistics
 * target (null: default), storage when not its type's (p/e/m/x), attribute options (n_distinct,
 * ...; PostgreSQL-reserved `pg_` entries, which a build may stamp on every column, left out: no
 * ALTER can set them) and column-level grants (`SELECT TO role`, see columnGrantSql).
 */
const COLUMN_SETTINGS_SQL = (a: string, ty: string) => `
                   'statistics', CASE WHEN ${a}.attstattarget >= 0 THEN ${a}.attstattarget END,
                   'storage', CASE WHEN ${a}.attstorage <> ${ty}.typstorage THEN ${a}.attstorage END,
                   'attributeOptions', (SELECT coalesce(json_agg(o ORDER BY o), '[]') FROM unnest(${a}.attoptions) o WHERE o NOT LIKE 'pg\\_%'),
                   'grants', (SELECT coalesce(json_agg(g), '[]') FROM (${ACL_GRANTS_SQL(`${a}.attacl`)}) g)`;

/** Has column a (of type ty) any setting of COLUMN_SETTINGS_SQL? */
const HAS_COLUMN_SETTINGS = (a: string, ty: string) =>
  `(${a}.attstattarget >= 0 OR ${a}.attstorage <> ${ty}.typstorage OR ${a}.attacl IS NOT NULL
    OR EXISTS (SELECT 1 FROM unnest(${a}.attoptions) o WHERE o NOT LIKE 'pg\\_%'))`;

/** Replica identity of relation alias c: d(efault), f(ull), n(othing), i(ndex) and that index's name. */
const REPLICA_SQL = (c: string) => `
     'replicaIdentity', ${c}.relreplident,
     'replicaIndex', (SELECT ri.relname FROM pg_index rx JOIN pg_class ri ON ri.oid = rx.indexrelid
                       WHERE rx.indrelid = ${c}.oid AND rx.indisreplident)`;

/** Publications listing relation alias c by itself, with their row filter and column list. */
const PUBLICATIONS_SQL = (c: string) => `(SELECT coalesce(json_agg(json_build_object(
                      'name', pb.pubname, 'viaRoot', pb.pubviaroot,
                      'filter', pg_get_expr(pr.prqual, pr.prrelid),
                      'columns', (SELECT json_agg(pa.attname ORDER BY x.n)
                                    FROM unnest(pr.prattrs::int2[]) WITH ORDINALITY x(attnum, n)
                                    JOIN pg_attribute pa ON pa.attrelid = ${c}.oid AND pa.attnum = x.attnum)) ORDER BY pb.pubname), '[]')
                      FROM pg_publication_rel pr JOIN pg_publication pb ON pb.oid = pr.prpubid
                     WHERE pr.prrelid = ${c}.oid)`;

/**
 * Views and materialized views that read table t, directly or through other views, with what
 * recreating each needs (definition, options, owner, grants, comment, a materialized view's
 * indexes and whether it is populated), in creation order (a view after the views it reads).
 */
const DEPENDENTS_SQL = `WITH RECURSIVE dep(oid, depth) AS (
         SELECT r.ev_class, 1 FROM pg_depend dp JOIN pg_rewrite r ON r.oid = dp.objid
          WHERE dp.classid = 'pg_rewrite'::regclass AND dp.refclassid = 'pg_class'::regclass
            AND dp.refobjid = t.oid AND r.ev_class <> t.oid
         UNION ALL
         SELECT r.ev_class, d.depth + 1 FROM dep d JOIN pg_depend dp ON dp.refobjid = d.oid AND dp.refclassid = 'pg_class'::regclass
           JOIN pg_rewrite r ON r.oid = dp.objid AND dp.classid = 'pg_rewrite'::regclass
          WHERE r.ev_class <> d.oid AND d.depth < 20)
  SELECT coalesce(json_agg(json_build_object(
           'name', format('%I.%I', vn.nspname, v.relname), 'kind', v.relkind, 'depth', d.depth,
           'definition', pg_get_viewdef(v.oid), 'options', coalesce(v.reloptions, '{}'),
           'owner', pg_get_userbyid(v.relowner), 'comment', obj_description(v.oid, 'pg_class'),
           'populated', v.relispopulated,
           'grants', (SELECT coalesce(json_agg(g), '[]') FROM (${GRANTS_SQL('v')}) g),
           'indexes', (SELECT coalesce(json_agg(pg_get_indexdef(vi.indexrelid) ORDER BY vi.indexrelid), '[]')
                         FROM pg_index vi WHERE vi.indrelid = v.oid)) ORDER BY d.depth, v.oid), '[]')
    FROM (SELECT oid, max(depth) AS depth FROM dep GROUP BY oid) d
    JOIN pg_class v ON v.oid = d.oid JOIN pg_namespace vn ON vn.oid = v.relnamespace`;

export const CATALOG_SQL = `
WITH ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = $1),
tbl AS (
  SELECT c.* FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
   WHERE c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')
)
SELECT json_build_object(
  'tables', (SELECT coalesce(json_agg(json_build_object(
     'schema', $1::text,
     'name', t.relname,
     'kind', t.relkind,
     'owner', pg_get_userbyid(t.relowner),
     'options', coalesce(t.reloptions, '{}'),
     'partitionKey', CASE WHEN t.relkind = 'p' THEN pg_get_partkeydef(t.oid) END,
     'acl', coalesce((SELECT json_agg(a::text ORDER BY n) FROM unnest(t.relacl) WITH ORDINALITY x(a, n)), '[]'),
     'grants', (SELECT coalesce(json_agg(g), '[]') FROM (${GRANTS_SQL('t')}) g),
     'comment', obj_description(t.oid, 'pg_class'),
     'persistence', t.relpersistence,
     'rowSecurity', t.relrowsecurity,${REPLICA_SQL('t')},
     'publications', ${PUBLICATIONS_SQL('t')},
     'publishedWithSchema', (SELECT coalesce(json_agg(pb.pubname ORDER BY pb.pubname), '[]') FROM pg_publication pb
                              WHERE pb.puballtables OR EXISTS (SELECT 1 FROM pg_publication_namespace pn
                                                                WHERE pn.pnpubid = pb.oid AND pn.pnnspid = t.relnamespace)),
     'partitions', (SELECT json_agg(json_build_object('name', p.relname, 'bound', pg_get_expr(p.relpartbound, p.oid),
                      'kind', p.relkind, 'owner', pg_get_userbyid(p.relowner), 'options', coalesce(p.reloptions, '{}'),
                      'grants', (SELECT coalesce(json_agg(g), '[]') FROM (${GRANTS_SQL('p')}) g),
                      'indexes', (SELECT coalesce(json_agg(json_build_object('name', pic.relname, 'parent', ppc.relname) ORDER BY pic.relname), '[]')
                                    FROM pg_index pix JOIN pg_class pic ON pic.oid = pix.indexrelid
                                    LEFT JOIN pg_inherits pih ON pih.inhrelid = pix.indexrelid
                                    LEFT JOIN pg_class ppc ON ppc.oid = pih.inhparent
                                   WHERE pix.indrelid = p.oid),
                      'foreignKeys', (SELECT coalesce(json_agg(json_build_object('name', k.conname, 'parent', pk.conname) ORDER BY k.conname), '[]')
                                        FROM pg_constraint k LEFT JOIN pg_constraint pk ON pk.oid = k.conparentid
                                       WHERE k.conrelid = p.oid AND k.contype = 'f'),
                      'triggers', (SELECT coalesce(json_agg(tg.tgname), '[]') FROM pg_trigger tg
                                    WHERE tg.tgrelid = p.oid AND NOT tg.tgisinternal AND tg.tgparentid = 0),${REPLICA_SQL('p')},
                      'publications', (SELECT coalesce(json_agg(x->>'name'), '[]') FROM json_array_elements(${PUBLICATIONS_SQL('p')}) x),
                      'columns', (SELECT coalesce(json_agg(json_build_object('name', pa.attname,${COLUMN_SETTINGS_SQL('pa', 'pt')}) ORDER BY pa.attnum), '[]')
                                    FROM pg_attribute pa JOIN pg_type pt ON pt.oid = pa.atttypid
                                   WHERE pa.attrelid = p.oid AND pa.attnum > 0 AND NOT pa.attisdropped
                                     AND ${HAS_COLUMN_SETTINGS('pa', 'pt')})) ORDER BY p.relname)
                      FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = t.oid),
     'columns', (SELECT json_agg(json_build_object(
                   'name', a.attname,
                   'type', format_type(a.atttypid, a.atttypmod),
                   'notNull', a.attnotnull,
                   'default', pg_get_expr(d.adbin, d.adrelid),
                   'identity', a.attidentity,
                   'generated', a.attgenerated,
                   'ownedSequence', (SELECT format('%I.%I', sn.nspname, s.relname)
                                       FROM pg_depend dp JOIN pg_class s ON s.oid = dp.objid AND s.relkind = 'S'
                                       JOIN pg_namespace sn ON sn.oid = s.relnamespace
                                      WHERE dp.classid = 'pg_class'::regclass AND dp.refobjid = t.oid
                                        AND dp.refobjsubid = a.attnum AND dp.deptype IN ('a', 'i') LIMIT 1),
                   'comment', col_description(t.oid, a.attnum),
                   'collation', (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
                                   JOIN pg_namespace cn ON cn.oid = co.collnamespace JOIN pg_type ty ON ty.oid = a.atttypid
                                  WHERE co.oid = a.attcollation AND a.attcollation <> ty.typcollation),${COLUMN_SETTINGS_SQL('a', 'aty')}) ORDER BY a.attnum)
                  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  JOIN pg_type aty ON aty.oid = a.atttypid
                 WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
     'constraints', (SELECT json_agg(json_build_object(
                       'name', k.conname,
                       'type', k.contype,
                       'definition', pg_get_constraintdef(k.oid),
                       'columns', (SELECT coalesce(json_agg(a.attname ORDER BY x.n), '[]')
                                     FROM unnest(k.conkey) WITH ORDINALITY x(attnum, n)
                                     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.attnum),
                       'validated', k.convalidated,
                       'references', CASE WHEN k.contype = 'f' THEN (SELECT format('%I.%I', qn.nspname, qc.relname) FROM pg_class qc JOIN pg_namespace qn ON qn.oid = qc.relnamespace WHERE qc.oid = k.confrelid) END) ORDER BY k.conname)
                      FROM pg_constraint k WHERE k.conrelid = t.oid),
     'indexes', (SELECT json_agg(json_build_object(
                   'name', ic.relname,
                   'definition', pg_get_indexdef(ix.indexrelid),
                   'unique', ix.indisunique,
                   'primary', ix.indisprimary,
                   'constraint', (SELECT k.conname FROM pg_constraint k WHERE k.conindid = ix.indexrelid AND k.conrelid = t.oid LIMIT 1),
                   'columns', (SELECT json_agg(a.attname ORDER BY x.n)
                                 FROM unnest(ix.indkey::int2[]) WITH ORDINALITY x(attnum, n)
                                 LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.attnum AND x.attnum > 0
                                WHERE x.n <= ix.indnkeyatts),
                   'partial', ix.indpred IS NOT NULL,
                   'valid', ix.indisvalid,
                   'comment', obj_description(ix.indexrelid, 'pg_class')) ORDER BY ic.relname)
                  FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid WHERE ix.indrelid = t.oid),
     'triggers', (SELECT json_agg(json_build_object(
                    'name', tg.tgname,
                    'definition', pg_get_triggerdef(tg.oid),
                    'timing', CASE WHEN tg.tgtype & 2 <> 0 THEN 'BEFORE' WHEN tg.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END,
                    'level', CASE WHEN tg.tgtype & 1 <> 0 THEN 'ROW' ELSE 'STATEMENT' END,
                    'events', (SELECT json_agg(e.name ORDER BY e.bit) FROM (VALUES (4, 'INSERT'), (8, 'DELETE'), (16, 'UPDATE'), (32, 'TRUNCATE')) e(bit, name)
                                WHERE tg.tgtype & e.bit <> 0),
                    'updateColumns', (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]')
                                        FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = ANY(tg.tgattr::int2[])),
                    'function', (SELECT format('%I.%I', fn.nspname, f.proname) FROM pg_proc f JOIN pg_namespace fn ON fn.oid = f.pronamespace WHERE f.oid = tg.tgfoid),
                    'enabled', tg.tgenabled) ORDER BY tg.tgname)
                   FROM pg_trigger tg WHERE tg.tgrelid = t.oid AND NOT tg.tgisinternal),
     'foreignKeysIn', (SELECT json_agg(json_build_object(
                         'name', k.conname, 'table', (SELECT format('%I.%I', qn.nspname, qc.relname) FROM pg_class qc JOIN pg_namespace qn ON qn.oid = qc.relnamespace WHERE qc.oid = k.conrelid), 'definition', pg_get_constraintdef(k.oid))
                         ORDER BY k.conrelid, k.conname)
                        FROM pg_constraint k
                       WHERE k.contype = 'f' AND k.confrelid = t.oid AND k.conrelid <> t.oid AND k.conparentid = 0),
     'views', (SELECT json_agg(json_build_object('name', (SELECT format('%I.%I', qn.nspname, qc.relname) FROM pg_class qc JOIN pg_namespace qn ON qn.oid = qc.relnamespace WHERE qc.oid = v.oid), 'kind', v.relkind, 'definition', pg_get_viewdef(v.oid))
                 ORDER BY v.oid)
                FROM (SELECT DISTINCT v.oid, v.relkind FROM pg_depend dp
                        JOIN pg_rewrite r ON r.oid = dp.objid AND dp.classid = 'pg_rewrite'::regclass
                        JOIN pg_class v ON v.oid = r.ev_class
                       WHERE dp.refclassid = 'pg_class'::regclass AND dp.refobjid = t.oid AND v.oid <> t.oid) v),
     'dependents', (${DEPENDENTS_SQL})
   ) ORDER BY t.relname), '[]') FROM tbl t),
  'relations', (SELECT coalesce(json_agg(json_build_object('name', c.relname, 'kind', c.relkind) ORDER BY c.relname), '[]')
                  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
                 WHERE c.relname = ANY($2::text[] || $3::text[] || $4::text[])),
  'functions', (SELECT coalesce(json_agg(json_build_object(
                  'schema', $1::text, 'name', p.proname, 'identityArgs', pg_get_function_identity_arguments(p.oid),
                  'returns', pg_get_function_result(p.oid), 'definition', pg_get_functiondef(p.oid))
                  ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)), '[]')
                  FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
                 WHERE p.proname = ANY($3::text[]) AND p.prokind IN ('f', 'p')),
  'types', (SELECT coalesce(json_agg(json_build_object(
              'schema', $1::text, 'name', ty.typname, 'kind', ty.typtype,
              'details', CASE ty.typtype
                 WHEN 'e' THEN (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = ty.oid)
                 WHEN 'c' THEN (SELECT json_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
                                  FROM pg_attribute a WHERE a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
                 WHEN 'd' THEN json_build_array(format_type(ty.typbasetype, ty.typtypmod))
                 ELSE '[]'::json END) ORDER BY ty.typname), '[]')
              FROM pg_type ty JOIN ns ON ns.oid = ty.typnamespace
             WHERE ty.typname = ANY($4::text[]))
) AS doc`;

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { allColumnsChecksum, chunksStrategy } from '../helpers/partition.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { dropRoles } from '../helpers/sequenceReal.js';

/**
 * What an operator sets on Semantik's chunks for access and logical replication, beyond the
 * table itself: column grants, per-column statistics targets, storage and attribute options,
 * publications (one with a row filter and column list) and REPLICA IDENTITY FULL. `up` carries
 * them onto the LIST table (publications move in the swap transaction), `down` gives them back
 * to the rebuilt HASH original exactly.
 */
const role = `dbops_t_carry_${Math.random().toString(36).slice(2, 8)}`;
let db: TestDatabase | undefined;

/** The operator's settings, by recursive ALTERs (every partition) and ONLY ones (the parent). */
const SETTINGS = `
GRANT SELECT (id, collection_id, content) ON public.chunks TO ${role};
GRANT UPDATE (token_count) ON public.chunks TO ${role} WITH GRANT OPTION;
ALTER TABLE public.chunks ALTER COLUMN collection_id SET STATISTICS 1000;
ALTER TABLE ONLY public.chunks ALTER COLUMN chunk_index SET STATISTICS 50;
ALTER TABLE public.chunks ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE public.chunks ALTER COLUMN document_id SET (n_distinct = -0.05);
ALTER TABLE public.chunks REPLICA IDENTITY FULL;
DO $$ BEGIN
  FOR i IN 0..15 LOOP EXECUTE format('ALTER TABLE public.chunks_p%s REPLICA IDENTITY FULL', i); END LOOP;
END $$;
CREATE PUBLICATION carry_plain FOR TABLE public.chunks;
CREATE PUBLICATION carry_filtered FOR TABLE public.chunks (id, collection_id, content, token_count)
  WHERE (token_count > 10) WITH (publish_via_partition_root = true, publish = 'insert');`;

beforeAll(async () => {
  db = await createTestDatabase('partition_carry');
  await loadRealFixture(db.client, 'partition_real.sql');
  await db.client.query(`CREATE ROLE ${role} NOLOGIN`);
  await db.client.query(SETTINGS);
});
afterAll(async () => {
  if (!db) return;
  await db.drop();
  await dropRoles(db.url, [role]);
});

/** What the live chunks carries, one line each: column grants and settings, replica identities, publications. */
async function carried(client: TestDatabase['client']): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(
    `SELECT line FROM (
       SELECT format('grant %s %s %s grantable=%s', a.attname, x.privilege_type, pg_get_userbyid(x.grantee), x.is_grantable) AS line
         FROM pg_attribute a, LATERAL aclexplode(a.attacl) x
        WHERE a.attrelid = 'public.chunks'::regclass AND a.attacl IS NOT NULL
       UNION ALL
       SELECT format('%s.%s stat=%s storage=%s opts=%s', CASE WHEN c.oid = 'public.chunks'::regclass THEN 'chunks' ELSE 'partition' END,
                     a.attname, a.attstattarget, a.attstorage,
                     (SELECT array_agg(o) FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_%'))
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE (c.oid = 'public.chunks'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'public.chunks'::regclass))
          AND a.attname IN ('collection_id', 'chunk_index', 'content', 'document_id')
       UNION ALL
       SELECT format('replident %s %s', CASE WHEN c.oid = 'public.chunks'::regclass THEN 'chunks' ELSE 'partition' END, c.relreplident)
         FROM pg_class c
        WHERE c.oid = 'public.chunks'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'public.chunks'::regclass)
       UNION ALL
       SELECT format('publication %s %s where=%s cols=%s', p.pubname, r.prrelid::regclass, pg_get_expr(r.prqual, r.prrelid),
                     (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                       WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs::int2[])))
         FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
     ) s GROUP BY line ORDER BY line`,
  );
  return rows.map((r) => r.line);
}

const EXPECTED = [
  'chunks.chunk_index stat=50 storage=p opts=<NULL>',
  'chunks.collection_id stat=1000 storage=x opts=<NULL>',
  'chunks.content stat=-1 storage=e opts=<NULL>',
  'chunks.document_id stat=-1 storage=x opts={n_distinct=-0.05}',
  `grant collection_id SELECT ${role} grantable=f`,
  `grant content SELECT ${role} grantable=f`,
  `grant id SELECT ${role} grantable=f`,
  `grant token_count UPDATE ${role} grantable=t`,
  'partition.chunk_index stat=-1 storage=p opts=<NULL>',
  'partition.collection_id stat=1000 storage=x opts=<NULL>',
  'partition.content stat=-1 storage=e opts=<NULL>',
  'partition.document_id stat=-1 storage=x opts=<NULL>',
  'publication carry_filtered chunks where=(token_count > 10) cols={id,collection_id,content,token_count}',
  'publication carry_plain chunks where=<NULL> cols=<NULL>',
  'replident chunks f',
  'replident partition f',
].map((l) => l.replace(/<NULL>/g, ''));

describe('partition family carries column settings, replica identity and publications (real Semantik schema)', () => {
  let before: string[];
  let checksum: string;

  beforeAll(async () => {
    before = await fullCatalogSnapshot(db!.client, ['public']);
    checksum = await allColumnsChecksum(db!.client);
  });

  it('the settings are there on the HASH original', async () => {
    expect(await carried(db!.client)).toEqual(EXPECTED);
  });

  it('preflight refuses partitions with different replica identities, and a partition published by itself: exit 2, says what to do, nothing changed', async () => {
    await db!.client.query('ALTER TABLE public.chunks_p3 REPLICA IDENTITY NOTHING');
    await db!.client.query('CREATE PUBLICATION carry_leaf FOR TABLE public.chunks_p5');
    const snap = await fullCatalogSnapshot(db!.client, ['public']);
    const up = await runCli(['migrate', 'up', 'partition'], { url: db!.url });
    expect(up.code).toBe(2);
    expect(up.stderr).toContain(
      'the partitions of public.chunks have different replica identities',
    );
    expect(up.stderr).toContain('make them equal first');
    expect(up.stderr).toContain(
      'partition public.chunks_p5 is listed by itself in publication carry_leaf: it would stay on the old table',
    );
    expect(await fullCatalogSnapshot(db!.client, ['public'])).toEqual(snap);
    await db!.client.query('ALTER TABLE public.chunks_p3 REPLICA IDENTITY FULL');
    await db!.client.query('DROP PUBLICATION carry_leaf');
  });

  it('the plan names the publications moved and the replica identity carried', async () => {
    const dry = await runCli(['migrate', 'up', 'partition', '--dry-run'], { url: db!.url });
    expect(dry.code, dry.stderr).toBe(0);
    for (const line of [
      'publication carry_filtered lists chunks WHERE (token_count > 10) (id, collection_id, content, token_count): moved to the new table in the swap transaction',
      'publication carry_plain lists chunks: moved to the new table in the swap transaction, same row filter and column list (down does the same back); publish_via_partition_root is off',
      'replica identity FULL: carried to the new table',
    ])
      expect(dry.stdout + dry.stderr).toContain(line);
  });

  it('up: the live LIST chunks has every grant, setting, replica identity and publication (filter and column list kept), nothing else is published', async () => {
    const up = await runCli(['migrate', 'up', 'partition'], { url: db!.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await chunksStrategy(db!.client)).toBe('l');
    expect(await carried(db!.client)).toEqual(EXPECTED);
    const { rows } = await db!.client.query(
      `SELECT count(*)::int AS n FROM pg_class c WHERE c.relreplident = 'f'
          AND c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'public.chunks'::regclass)`,
    );
    expect(rows[0].n).toBe(101);
    expect(await allColumnsChecksum(db!.client)).toBe(checksum);
  });

  it('down: the HASH original exactly (full catalog diff empty: column settings, replica identities, publications included) and every row', async () => {
    const down = await runCli(['migrate', 'down', 'partition', '--all'], { url: db!.url });
    expect(down.code, down.stderr).toBe(0);
    expect(diffCatalog(before, await fullCatalogSnapshot(db!.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
    expect(await allColumnsChecksum(db!.client)).toBe(checksum);
  });

  it('up again: exit 0, everything carried again, the same rows', async () => {
    const up = await runCli(['migrate', 'up', 'partition'], { url: db!.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await carried(db!.client)).toEqual(EXPECTED);
    expect(await allColumnsChecksum(db!.client)).toBe(checksum);
  });

  it('REPLICA IDENTITY USING INDEX chunks_pkey (parent, and each partition on its primary key): up carries it onto the extended key, down restores it exactly', async () => {
    const down = await runCli(['migrate', 'down', 'partition', '--all'], { url: db!.url });
    expect(down.code, down.stderr).toBe(0);
    await db!.client.query(`ALTER TABLE public.chunks REPLICA IDENTITY USING INDEX chunks_pkey;
      DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT c.relname AS part, ic.relname AS ix FROM pg_inherits i JOIN pg_class ic ON ic.oid = i.inhrelid
                   JOIN pg_index x ON x.indexrelid = ic.oid JOIN pg_class c ON c.oid = x.indrelid
                  WHERE i.inhparent = 'public.chunks_pkey'::regclass LOOP
          EXECUTE format('ALTER TABLE public.%I REPLICA IDENTITY USING INDEX %I', r.part, r.ix);
        END LOOP;
      END $$`);
    const identities = async () =>
      (
        await db!.client.query<{ line: string }>(
          `SELECT format('%s %s %s %s', CASE WHEN c.oid = 'public.chunks'::regclass THEN 'chunks' ELSE 'partition' END,
                         c.relreplident, position('(id, collection_id, partition_key)' IN pg_get_indexdef(x.indexrelid)) > 0,
                         coalesce(pi.inhparent::regclass::text, ic.relname)) AS line
             FROM pg_class c JOIN pg_index x ON x.indrelid = c.oid AND x.indisreplident
             JOIN pg_class ic ON ic.oid = x.indexrelid LEFT JOIN pg_inherits pi ON pi.inhrelid = x.indexrelid
            WHERE c.oid = 'public.chunks'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'public.chunks'::regclass)
            GROUP BY 1 ORDER BY 1`,
        )
      ).rows.map((r) => r.line);
    expect(await identities()).toEqual(['chunks i f chunks_pkey', 'partition i f chunks_pkey']);
    const snap = await fullCatalogSnapshot(db!.client, ['public']);
    const dry = await runCli(['migrate', 'up', 'partition', '--dry-run'], { url: db!.url });
    expect(dry.stdout + dry.stderr).toContain(
      'replica identity USING INDEX chunks_pkey: carried (set on chunks_pkey PRIMARY KEY (id, collection_id, partition_key) once it is built)',
    );
    const up = await runCli(['migrate', 'up', 'partition'], { url: db!.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await identities()).toEqual(['chunks i t chunks_pkey', 'partition i t chunks_pkey']);
    const { rows } = await db!.client.query(
      `SELECT count(*)::int AS n FROM pg_index x WHERE x.indisreplident
          AND x.indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'public.chunks'::regclass)`,
    );
    expect(rows[0].n).toBe(101);
    const back = await runCli(['migrate', 'down', 'partition', '--all'], { url: db!.url });
    expect(back.code, back.stderr).toBe(0);
    expect(diffCatalog(snap, await fullCatalogSnapshot(db!.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
    expect(await allColumnsChecksum(db!.client)).toBe(checksum);
  });
});

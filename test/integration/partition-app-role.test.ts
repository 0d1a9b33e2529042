import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, fullCatalogSnapshot } from '../helpers/catalogDiff.js';
import { runCli } from '../helpers/cli.js';
import { connectAsAppRole, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { defaultPartitionRows, misroutedRows } from '../helpers/partition.js';
import { loadRealFixture } from '../helpers/realFixtures.js';
import { dropRoles } from '../helpers/sequenceReal.js';

/**
 * Semantik's application writing as its own role (rights on chunks, none on its partitions or on
 * dbops' tables), leaving partition_key out as its pre-change code does. The row goes through
 * chunks_default, whose reroute must not need the writer to have rights there. 0006 brings the
 * fix to a database whose 0001 installed the earlier reroute (emulated here by putting that
 * definition back), and its down puts that definition back exactly.
 */
const APP = `dbops_t_semantik_writer_${Math.random().toString(36).slice(2, 8)}`;
let db: TestDatabase;
let app: pg.Client;

/** The reroute as 0001 installed it before the split: it deleted from chunks_default itself. */
const EARLIER_REROUTE = `
DROP TRIGGER chunks_default_release ON chunks_default;
DROP FUNCTION chunks_default_release();
CREATE OR REPLACE FUNCTION chunks_default_reroute() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.partition_key <> -1 THEN RETURN NULL; END IF;
  DELETE FROM "public".chunks_default d
   WHERE d.id = NEW.id AND d.collection_id = NEW.collection_id AND d.partition_key = -1;
  NEW.partition_key := "public".chunk_partition_key(NEW.collection_id);
  INSERT INTO "public".chunks SELECT NEW.*;
  RETURN NULL;
END
$fn$`;

let n = 0;
/** One insert as the application role, without partition_key; the partition RETURNING names. */
async function insertAsApp(): Promise<string> {
  const { rows } = await app.query(
    `INSERT INTO public.chunks (id, collection_id, document_id, chunking_config_id, chunk_index,
                                content, start_offset, end_offset)
     SELECT $1, d.collection_id, d.id, d.chunking_config_id, 900000 + $2, 'app', 0, 3
       FROM public.documents d ORDER BY d.id LIMIT 1
     RETURNING tableoid::regclass::text AS part`,
    [`app-${++n}`, n],
  );
  return rows[0].part;
}

beforeAll(async () => {
  db = await createTestDatabase('partition_app_role');
  await loadRealFixture(db.client, 'partition_real.sql');
  app = await connectAsAppRole(
    db,
    APP,
    `GRANT USAGE ON SCHEMA public TO ROLE;
     GRANT SELECT, INSERT, UPDATE, DELETE ON public.chunks TO ROLE;
     GRANT SELECT ON public.documents TO ROLE`,
  );
});
afterAll(async () => {
  await app?.end();
  await db?.drop();
  await dropRoles(db.url, [APP]);
});

describe("partition: the application's own role writes without partition_key", () => {
  it('before the move, during it (the capture) and after the swap: every insert lands in its partition', async () => {
    expect(await insertAsApp()).toMatch(/^chunks_p\d+$/);
    const toCopy = await runCli(['migrate', 'up', 'partition', '--to', '0003'], { url: db.url });
    expect(toCopy.code, toCopy.stderr).toBe(0);
    // Captured while the copy waits for the swap: the capture writes dbops' changes table.
    expect(await insertAsApp()).toMatch(/^chunks_p\d+$/);
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await insertAsApp()).toBe('chunks_default');
    expect(await defaultPartitionRows(db.client)).toBe(0);
    expect(await misroutedRows(db.client)).toBe(0);
    const { rows } = await db.client.query(
      "SELECT count(*)::int AS n FROM public.chunks WHERE id LIKE 'app-%'",
    );
    expect(rows[0].n).toBe(3);
  });

  it('0006 on a database with the earlier reroute: the insert failed, now works; down puts the earlier one back exactly', async () => {
    const down = await runCli(['migrate', 'down', 'partition', '--to', '0005'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    await db.client.query(EARLIER_REROUTE);
    const earlier = await fullCatalogSnapshot(db.client, ['public']);
    await expect(insertAsApp()).rejects.toThrow(/permission denied for table chunks_default/);

    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
    expect(await insertAsApp()).toBe('chunks_default');
    expect(await defaultPartitionRows(db.client)).toBe(0);

    const again = await runCli(['migrate', 'down', 'partition', '--to', '0005'], { url: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(diffCatalog(earlier, await fullCatalogSnapshot(db.client, ['public']))).toEqual({
      removed: [],
      added: [],
    });
    const restored = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(restored.code, restored.stderr).toBe(0);
  });
});

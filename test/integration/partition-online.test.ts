import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededSemantik } from '../../src/families/partition/fixture.js';
import {
  createShadow,
  SHADOW,
  startChunksWriter,
  type WriterResult,
} from '../helpers/chunksWriter.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { chunksChecksum, chunksStrategy, misroutedRows } from '../helpers/partition.js';

/** A working directory whose dbops.config.json makes batches small, so the copy takes a while. */
function smallBatches(batchSize: number): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dbops-partition-'));
  writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize }));
  return cwd;
}

async function keys(
  db: TestDatabase,
  sql: string,
): Promise<{ id: string; collection_id: string }[]> {
  return (await db.client.query(sql)).rows;
}

/** Runs `args` while two writers change chunks; returns the CLI result and what the writers did. */
async function moveWhileWriting(
  db: TestDatabase,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stderr: string; writes: WriterResult[] }> {
  const docs = await keys(db, 'SELECT id, collection_id FROM public.documents ORDER BY id');
  const chunks = await keys(
    db,
    'SELECT id, collection_id FROM public.chunks ORDER BY id LIMIT 20000',
  );
  const clients = await Promise.all([db.connect(), db.connect()]);
  const writers = clients.map((c, i) => startChunksWriter(c, i + 1, docs, chunks));
  const result = await runCli(args, { url: db.url, cwd });
  const writes = await Promise.all(writers.map((w) => w.stop()));
  await Promise.all(clients.map((c) => c.end()));
  return { ...result, writes };
}

/** Commits that happened between the end of migration `a` and the end of migration `b`. */
async function writesBetween(db: TestDatabase, writes: WriterResult[], a: string, b: string) {
  const { rows } = await db.client.query(
    `SELECT max(run_on) FILTER (WHERE name = $1) AS a, max(run_on) FILTER (WHERE name = $2) AS b
       FROM dbops.migrations_partition`,
    [a, b],
  );
  return writes.flatMap((w) => w.committedAt).filter((t) => t > rows[0].a && t < rows[0].b).length;
}

describe('partition move while the application writes', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('partition_online');
    await createSeededSemantik(db.client, { collections: 200, chunks: 60_000 });
    await createShadow(db.client);
  });
  afterAll(() => db.drop());

  it('up: every insert, update, delete and cascaded delete made during the copy and the swap is in the LIST table', async () => {
    const run = await moveWhileWriting(db, ['migrate', 'up', 'partition'], smallBatches(1000));
    expect(run.code, run.stderr).toBe(0);
    expect(run.writes.flatMap((w) => w.errors).join('\n')).toBe('');
    expect(
      await writesBetween(db, run.writes, '0001_list_table', '0002_copy_rows'),
    ).toBeGreaterThan(20);
    expect(await writesBetween(db, run.writes, '0003_list_indexes', '0004_swap')).toBeGreaterThan(
      0,
    );
    const ops = run.writes.reduce((sum, w) => sum + w.ops.insert + w.ops.update + w.ops.delete, 0);
    expect(ops).toBeGreaterThan(100);
    expect(await chunksStrategy(db.client)).toBe('l');
    expect(await chunksChecksum(db.client)).toBe(await chunksChecksum(db.client, SHADOW));
    expect(await misroutedRows(db.client)).toBe(0);
  });

  it('down: the same while every row moves back to the HASH table', async () => {
    const run = await moveWhileWriting(
      db,
      ['migrate', 'down', 'partition', '--all'],
      smallBatches(1000),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.writes.flatMap((w) => w.errors).join('\n')).toBe('');
    expect(await chunksStrategy(db.client)).toBe('h');
    expect(await chunksChecksum(db.client)).toBe(await chunksChecksum(db.client, SHADOW));
  });
});

describe('partition move interrupted', () => {
  let db: TestDatabase;
  let original: string;
  beforeAll(async () => {
    db = await createTestDatabase('partition_kill');
    await createSeededSemantik(db.client, { collections: 100, chunks: 40_000 });
    original = await chunksChecksum(db.client);
  });
  afterAll(() => db.drop());

  it('SIGKILL in the middle of the copy, then a rerun: the copy resumes at its cursor and finishes exactly', async () => {
    const cwd = smallBatches(300);
    const run = startCli(['migrate', 'up', 'partition'], { url: db.url, cwd });
    // Kill once a few batches are committed (the cursor is in the database, not in the process).
    for (let i = 0; ; i++) {
      const { rows } = await db.client
        .query(
          `SELECT next_block FROM public.chunks_copy_progress WHERE target = 'chunks_list' AND NOT finished`,
        )
        .catch(() => ({ rows: [] as { next_block: string }[] }));
      if (rows.length > 0 && Number(rows[0].next_block) > 0) break;
      if (i > 600) throw new Error('the copy never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.code).toBeNull();
    expect(await chunksStrategy(db.client)).toBe('h');
    const { rows: applied } = await db.client.query(
      'SELECT name FROM dbops.migrations_partition ORDER BY name',
    );
    expect(applied.map((r) => r.name)).toEqual(['0001_list_table']);

    const rerun = await runCli(['migrate', 'up', 'partition'], { url: db.url, cwd });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/copy resumes at chunks_p\d+ block \d+/);
    expect(await chunksChecksum(db.client)).toBe(original);
    expect(await misroutedRows(db.client)).toBe(0);
  });

  it('a copy that does not verify is never swapped (exit 2), and redoing the copy fixes it', async () => {
    const down = await runCli(['migrate', 'down', 'partition', '--to', '0003'], { url: db.url });
    expect(down.code, down.stderr).toBe(0);
    expect(await chunksStrategy(db.client)).toBe('h');
    // Corrupt the staging copy behind the capture's back.
    await db.client.query(
      `UPDATE public.chunks_list SET content = content || ' (corrupted)'
        WHERE id = (SELECT id FROM public.chunks_list ORDER BY id LIMIT 1)`,
    );
    const up = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(up.code).toBe(2);
    expect(up.stderr).toContain('verification failed, nothing was swapped');
    expect(up.stderr).toContain('dbops migrate down partition --to 0001');
    expect(await chunksStrategy(db.client)).toBe('h');
    expect(await chunksChecksum(db.client)).toBe(original);

    const redo = await runCli(['migrate', 'down', 'partition', '--to', '0001'], { url: db.url });
    expect(redo.code, redo.stderr).toBe(0);
    const again = await runCli(['migrate', 'up', 'partition'], { url: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(await chunksChecksum(db.client)).toBe(original);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import {
  type CatalogSnapshot,
  readCatalog,
  updateTriggersFor,
} from '../../src/catalog/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { loadRealFixture } from '../helpers/realFixtures.js';

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

async function snapshotOf(
  file: string,
  schema: string,
  request: Parameters<typeof readCatalog>[2],
): Promise<CatalogSnapshot> {
  const db = await createTestDatabase(`catalog_${file.replace('.sql', '')}`);
  dbs.push(db);
  await loadRealFixture(db.client, file);
  return readCatalog(db.client, schema, request);
}

describe('catalog snapshot on the real upstream schemas', () => {
  it("Nova: the live BIGSERIAL sequence_number, its owned sequence, and the app's UPDATE triggers", async () => {
    const snap = await snapshotOf('sequence_real.sql', 'public', {
      tables: ['messages', 'conversations', 'conversation_members', 'no_such_table'],
      functions: ['sync_message_search_index_on_edit'],
    });
    expect(snap.tables.has('no_such_table')).toBe(false);
    const messages = snap.tables.get('messages')!;
    const seq = messages.columns.find((c) => c.name === 'sequence_number')!;
    expect(seq).toMatchObject({ type: 'bigint', notNull: true });
    expect(seq.default).toContain('nextval');
    expect(seq.ownedSequence).toBe('public.messages_sequence_number_seq');
    const names = updateTriggersFor(messages, ['sequence_number']).map((t) => t.name);
    expect(names).toContain('message_search_sync_trigger');
    const sync = messages.triggers.find((t) => t.name === 'message_search_sync_trigger')!;
    expect(sync).toMatchObject({ timing: 'AFTER', level: 'ROW', events: ['DELETE', 'UPDATE'] });
    expect(sync.function).toBe('public.sync_message_search_index_on_edit');
    expect(snap.functions.map((f) => f.name)).toEqual(['sync_message_search_index_on_edit']);
    expect(messages.constraints.find((k) => k.type === 'f')?.references).toBe(
      'public.conversations',
    );
    expect(snap.tables.get('conversations')!.foreignKeysIn.map((k) => k.table)).toContain(
      'public.messages',
    );
  });

  it("Beckett: retries is beckett.retry[], a composite type; the enum's labels", async () => {
    const snap = await snapshotOf('checkpoint_real.sql', 'beckett', {
      tables: ['checkpoints'],
      types: ['retry', 'checkpoint_status'],
    });
    const checkpoints = snap.tables.get('checkpoints')!;
    expect(checkpoints.columns.find((c) => c.name === 'retries')?.type).toBe('beckett.retry[]');
    expect(checkpoints.columns.find((c) => c.name === 'lagging')?.generated).toBe('s');
    expect(snap.types.get('retry')).toMatchObject({
      kind: 'c',
      details: ['attempt integer', 'error jsonb', 'timestamp timestamp with time zone'],
    });
    expect(snap.types.get('checkpoint_status')?.details).toEqual(['active', 'retry', 'failed']);
  });

  it('Semantik: 16 HASH partitions, a unique INDEX (not a constraint), views reading chunks', async () => {
    const snap = await snapshotOf('partition_real.sql', 'public', {
      tables: ['chunks'],
      functions: ['analyze_partition_skew', 'refresh_collection_chunking_stats'],
    });
    const chunks = snap.tables.get('chunks')!;
    expect(chunks.kind).toBe('p');
    expect(chunks.partitionKey).toBe('HASH (collection_id)');
    expect(chunks.partitions).toHaveLength(16);
    const uq = chunks.indexes.find((i) => i.name === 'uq_chunks_collection_document_index')!;
    expect(uq).toMatchObject({ unique: true, constraint: null });
    expect(chunks.constraints.some((k) => k.references === 'public.chunking_configs')).toBe(true);
    expect(chunks.views.map((v) => [v.name, v.kind])).toEqual(
      expect.arrayContaining([
        ['public.collection_chunking_stats', 'm'],
        ['public.partition_chunk_distribution', 'v'],
      ]),
    );
    expect(snap.functions.map((f) => f.name).sort()).toEqual([
      'analyze_partition_skew',
      'refresh_collection_chunking_stats',
    ]);
  });

  it("Queen: the application's statement-level triggers on messages and the tables referencing it", async () => {
    const snap = await snapshotOf('lookup_real.sql', 'queen', { tables: ['messages'] });
    const messages = snap.tables.get('messages')!;
    expect(messages.triggers.length).toBeGreaterThan(0);
    expect(messages.triggers.every((t) => t.definition.startsWith('CREATE'))).toBe(true);
    expect(messages.foreignKeysIn.length).toBeGreaterThan(0);
  });

  it('quotes nothing from its input into SQL: a hostile name is just a name that is absent', async () => {
    const snap = await snapshotOf('lookup_real.sql', 'queen"; drop table queen.messages; --', {
      tables: ['messages"; drop table x; --'],
    });
    expect(snap.tables.size).toBe(0);
    expect(dbs.length).toBeGreaterThan(0);
    const { rows } = await dbs.at(-1)!.client.query(`SELECT to_regclass('queen.messages') AS t`);
    expect(rows[0].t).not.toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import {
  addKeyColumn,
  indexBody,
  seedSuffix,
} from '../../src/families/partition/online/indexNames.js';
import { stagingName } from '../../src/families/partition/online/layouts.js';

describe('partition index definitions', () => {
  it('indexBody keeps everything after the table, whatever the kind of index', () => {
    expect(indexBody('CREATE INDEX ix_a ON ONLY public.chunks USING btree (created_at)')).toBe(
      'USING btree (created_at)',
    );
    expect(
      indexBody(
        'CREATE UNIQUE INDEX uq ON public.chunks USING btree (lower((v)::text), collection_id) INCLUDE (x) WHERE (n > 1)',
      ),
    ).toBe('USING btree (lower((v)::text), collection_id) INCLUDE (x) WHERE (n > 1)');
    expect(() => indexBody('not an index')).toThrow(/cannot read/);
  });

  it('addKeyColumn appends partition_key to the key columns only, once', () => {
    expect(addKeyColumn('PRIMARY KEY (id, collection_id)')).toBe(
      'PRIMARY KEY (id, collection_id, partition_key)',
    );
    expect(addKeyColumn('USING btree (lower((v)::text), collection_id) INCLUDE (x)')).toBe(
      'USING btree (lower((v)::text), collection_id, partition_key) INCLUDE (x)',
    );
    expect(addKeyColumn('UNIQUE (collection_id, partition_key)')).toBe(
      'UNIQUE (collection_id, partition_key)',
    );
  });

  it("seedSuffix names only the seed's exact definitions", () => {
    expect(seedSuffix('USING btree (created_at)')).toBe('created');
    expect(seedSuffix('USING btree (collection_id, chunk_index)')).toBe('chunk_index');
    expect(seedSuffix('USING btree (created_at DESC)')).toBeUndefined();
  });

  it('stagingName keeps the seed names and prefixes others, within 63 characters', () => {
    expect(stagingName('chunks_pkey', 'list')).toBe('chunks_list_pkey');
    expect(stagingName('ix_chunks_created_at', 'hash')).toBe('ix_chunks_hash_created_at');
    expect(stagingName('uq_chunks_collection_document_index', 'list')).toBe(
      'list_uq_chunks_collection_document_index',
    );
    const long = stagingName(`uq_${'x'.repeat(60)}`, 'hash');
    expect(long.length).toBe(63);
    expect(long).not.toBe(stagingName(`uq_${'x'.repeat(59)}y`, 'hash'));
  });
});

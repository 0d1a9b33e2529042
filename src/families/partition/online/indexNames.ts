/**
 * Index definitions as the partition family carries them: the part of pg_get_indexdef after the
 * table, the partition key added to a unique key, and the four per-partition indexes of
 * Semantik's 100-partition migration (idx_chunks_part_NN_collection, _created, _chunk_index,
 * _document), which Semantik's own tests look for by name.
 */

/** `USING btree (a) WHERE ...` from `CREATE [UNIQUE] INDEX name ON [ONLY] table USING ...`. */
export function indexBody(definition: string): string {
  const m = /^CREATE (?:UNIQUE )?INDEX .*? ON (?:ONLY )?\S+ (USING .*)$/s.exec(definition);
  if (!m) throw new Error(`cannot read the index definition: ${definition}`);
  return m[1]!;
}

/**
 * The key column list of `PRIMARY KEY (a, b)`, `UNIQUE (a, b)` or `USING btree (a, b) ...` with
 * partition_key appended (unchanged when it is there already).
 */
export function addKeyColumn(definition: string): string {
  const open = definition.indexOf('(');
  if (open < 0) return definition;
  let depth = 0;
  for (let i = open; i < definition.length; i++) {
    const ch = definition[i];
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) {
      const list = definition.slice(open + 1, i);
      if (list.split(',').some((c) => c.trim() === 'partition_key')) return definition;
      return `${definition.slice(0, i)}, partition_key${definition.slice(i)}`;
    }
  }
  return definition;
}

export interface SeedIndex {
  /** Per-partition name: idx_<partition>_<suffix>. */
  suffix: string;
  /** Parent name when the family adds it (the original has no index of this definition). */
  parent: string;
  body: string;
}

export const seedIndexes: SeedIndex[] = [
  { suffix: 'collection', parent: 'ix_chunks_collection_id', body: 'USING btree (collection_id)' },
  { suffix: 'created', parent: 'ix_chunks_created_at', body: 'USING btree (created_at)' },
  {
    suffix: 'chunk_index',
    parent: 'ix_chunks_collection_id_chunk_index',
    body: 'USING btree (collection_id, chunk_index)',
  },
  { suffix: 'document', parent: 'ix_chunks_document_id', body: 'USING btree (document_id)' },
];

/** The seed suffix of an index with exactly this body, if it is one of the four. */
export function seedSuffix(body: string): string | undefined {
  return seedIndexes.find((s) => s.body === body)?.suffix;
}

/**
 * sequence 0008: the indexes, each built with CREATE INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE:
 * reads and writes go on while it builds; it waits, under lock_timeout, for transactions older
 * than itself). Idempotent: a valid index is kept, an INVALID one left by an interrupted or
 * failed build is dropped and built again (createIndexConcurrently).
 *
 * - the unique (conversation_id, sequence_number): Nova never had it; it is what makes a
 *   duplicate number impossible rather than unlikely. Built after the backfill, so it is built
 *   once from finished rows instead of being updated by every backfill batch. If duplicates
 *   exist the build fails (exit 2, the index is left INVALID) and a rerun, after the duplicates
 *   are fixed, rebuilds it.
 * - Nova's composite indexes on base tables (seed 060): cursor pagination of a conversation's
 *   visible messages, and a member's conversation list. Its indexes on posts, post_metadata,
 *   post_images, message_reactions and message_attachments are not part of this base schema.
 * - GIN on content_tsv, for Nova's full-text search.
 *
 * An index of the operator's identical to one of these, recorded by 0001 (adoptIdentical.ts), is
 * valid and kept by up; down leaves it.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { isKept } from '../../src/families/sequence/adoptIdentical.js';
import type { MigrationContext } from '../../src/migrate/context.js';
import {
  createIndexConcurrently,
  dropIndexConcurrently,
  type IndexSpec,
} from '../../src/migrate/online.js';

const INDEXES: (IndexSpec & { table: string })[] = [
  {
    name: 'uq_messages_conversation_sequence',
    table: 'messages',
    unique: true,
    on: 'messages (conversation_id, sequence_number)',
  },
  {
    name: 'idx_messages_conversation_ts_id',
    table: 'messages',
    on: 'messages (conversation_id, created_at DESC, id DESC) WHERE deleted_at IS NULL',
  },
  {
    name: 'idx_conversation_members_user_conversation',
    table: 'conversation_members',
    on: 'conversation_members (user_id, conversation_id) INCLUDE (is_archived, last_read_at)',
  },
  {
    name: 'idx_messages_content_tsv',
    table: 'messages',
    on: 'messages USING gin (content_tsv)',
  },
];

export const installs: SchemaManifest = {
  indexes: INDEXES.map((i) => ({ name: i.name, table: i.table })),
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  for (const index of INDEXES) {
    if (await isKept(pgm, ctx.schema, 'kept index', index.table, index.name)) {
      if (ctx.dryRun) pgm.sql(`-- ${index.name}: the operator's identical index is kept`);
      else ctx.progress.note(`sequence: keeping the operator's identical index ${index.name}`);
      continue;
    }
    if (!ctx.dryRun) ctx.progress.note(`sequence: building index ${index.name} concurrently`);
    await createIndexConcurrently(pgm, ctx, index);
  }
}

export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  for (const index of [...INDEXES].reverse()) {
    if (!(await isKept(pgm, ctx.schema, 'kept index', index.table, index.name)))
      await dropIndexConcurrently(pgm, ctx, index.name);
    else if (ctx.dryRun) pgm.sql(`-- ${index.name}: the operator's, left in place`);
  }
}

/**
 * sequence 0002: the conversation counters, catalog-only (ACCESS EXCLUSIVE on conversations for
 * milliseconds, bounded by lock_timeout).
 *
 * Existing rows get NULL, and last_sequence_number NULL means "this conversation's history and
 * counters have not been computed yet": the triggers (0003-0005) apply no delta to it and the
 * backfill (0007) computes it from scratch. 0006 sets the defaults, once every trigger is in
 * place, so that conversations created from then on start initialised.
 *
 * member_count, last_message_id and last_message_at that already exist (and that the preflight
 * let through: right type, declared as written by dbops only) are adopted, not added: see
 * src/families/sequence/adoptCounters.ts.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { columnExists } from '../../src/families/sequence/adopt.js';
import {
  adoptedConversationColumns,
  CONVERSATION_COLUMNS,
  defaultName,
  existingConversationColumns,
  restoreConversationsBatchSql,
  SAVED_TABLE,
  saveConversationColumnsSql,
} from '../../src/families/sequence/adoptCounters.js';
import { restoreOriginalSql } from '../../src/migrate/adopt.js';
import { type MigrationContext, runBatches } from '../../src/migrate/context.js';
import { execOnline } from '../../src/migrate/online.js';

export const installs: SchemaManifest = {
  columns: [{ table: 'conversations', columns: CONVERSATION_COLUMNS.map((c) => c[0]) }],
};

export async function up(pgm: MigrationBuilder): Promise<void> {
  const adopted = await existingConversationColumns(pgm);
  if (adopted.length > 0) for (const sql of saveConversationColumnsSql(adopted)) pgm.sql(sql);
  const added = CONVERSATION_COLUMNS.filter(([c]) => !adopted.includes(c));
  pgm.sql(
    `ALTER TABLE conversations\n${added.map(([c, type]) => `  ADD COLUMN ${c} ${type}`).join(',\n')}`,
  );
}

/**
 * Columns dbops added are dropped. Adopted ones stay: their saved values are put back in
 * committed batches (with the application's triggers off when the engine allows it), then their
 * defaults, and what dbops kept about them is forgotten. Each statement autocommits and is
 * idempotent, so an interrupted down is finished by a rerun.
 */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  // last_sequence_number is always dbops' own: without it this down already finished (the last
  // step drops it with the saved table, in one transaction), and a rerun must not take the
  // adopted columns, whose saved values are gone by then, for added ones.
  if (!(await columnExists(pgm, 'conversations', 'last_sequence_number'))) return;
  const adopted = await adoptedConversationColumns(pgm);
  const added = CONVERSATION_COLUMNS.map(([c]) => c)
    .filter((c) => !adopted.includes(c))
    .reverse();
  const drop = `ALTER TABLE conversations\n${added.map((c) => `  DROP COLUMN IF EXISTS ${c}`).join(',\n')}`;
  if (adopted.length === 0) {
    pgm.sql(drop);
    return;
  }
  pgm.noTransaction();
  await runBatches(pgm, ctx, {
    label: 'sequence: adopted conversation columns put back',
    sql: restoreConversationsBatchSql(adopted),
    writesBaseTable: true,
  });
  for (const column of adopted)
    await execOnline(pgm, ctx, restoreOriginalSql('sequence', 'sql', defaultName(column)));
  await execOnline(pgm, ctx, `BEGIN;\n${drop};\nDROP TABLE IF EXISTS ${SAVED_TABLE};\nCOMMIT`);
}

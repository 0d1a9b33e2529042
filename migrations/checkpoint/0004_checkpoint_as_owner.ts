/**
 * checkpoint 0004: Beckett's own role (rights on its tables, none on the hot tables, which dbops
 * created after its grants were made) can update checkpoints again.
 *
 * The row trigger on checkpoints (0001) writes checkpoints_ready / checkpoints_reserved with the
 * updating session's rights, so every update of such a role that moved a checkpoint in or out of
 * the hot tables failed: "permission denied for table checkpoints_ready". The trigger function now
 * runs as the hot tables' owner (SECURITY DEFINER, search_path pinned: see runAsOwnerOfSql in
 * src/migrate/adopt.ts); it already had a SET clause, so a call costs what it did. One short
 * transaction, catalog only: ALTER FUNCTION takes no lock on checkpoints.
 *
 * dbops' own functions (0003: checkpoint_reserve_next, ...) still run with the caller's rights: a
 * role calling them needs rights on the hot tables (docs/families/checkpoint.md).
 *
 * Down puts the function's definition, settings and owner back as they were before up (saved by
 * up in dbops.adopted).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import {
  functionStateSql,
  restoreOriginalSql,
  runAsOwnerOfSql,
  saveOriginalSql,
} from '../../src/migrate/adopt.js';
import type { MigrationContext } from '../../src/migrate/context.js';

const FUNCTION = 'checkpoint_hot_tables()';
const SAVED = 'trigger function before 0004';

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.sql(saveOriginalSql('checkpoint', 'sql', SAVED, functionStateSql(FUNCTION)));
  for (const sql of runAsOwnerOfSql(FUNCTION, 'checkpoints_ready', ctx.schema)) pgm.sql(sql);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(restoreOriginalSql('checkpoint', 'sql', SAVED));
}

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
import { runAsOwnerMigration } from '../../src/migrate/adopt.js';

export const { up, down } = runAsOwnerMigration(
  'checkpoint',
  'checkpoint_hot_tables()',
  'checkpoints_ready',
  'trigger function before 0004',
);

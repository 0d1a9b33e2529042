/**
 * lookup 0003: pushes by an application role that is not partition_lookup's owner keep working.
 *
 * The statement trigger on messages (0001) upserts partition_lookup with the pushing session's
 * rights. A role with INSERT on messages and nothing on partition_lookup (which dbops created
 * after the role's grants were made) failed every push: "permission denied for table
 * partition_lookup". The trigger function now runs as partition_lookup's owner (SECURITY
 * DEFINER, search_path pinned: see runAsOwnerOfSql in src/migrate/adopt.ts). It runs once per
 * INSERT statement, so the SET clause costs nothing measurable. One short transaction, catalog
 * only: ALTER FUNCTION takes no lock on messages.
 *
 * Down puts the function's definition, settings and owner back as they were before up (saved by
 * up in dbops.adopted).
 */
import { runAsOwnerMigration } from '../../src/migrate/adopt.js';

export const { up, down } = runAsOwnerMigration(
  'lookup',
  'update_partition_lookup_trigger()',
  'partition_lookup',
  'trigger function before 0003',
);

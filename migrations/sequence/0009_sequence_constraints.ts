/**
 * sequence 0009: CHECK constraints, added NOT VALID (ACCESS EXCLUSIVE for milliseconds, no scan)
 * and then validated (a scan under SHARE UPDATE EXCLUSIVE: reads and writes go on). Plain ADD
 * CONSTRAINT, as in Nova's migration, scans under ACCESS EXCLUSIVE and fails on a rerun; these
 * skip a constraint that exists and validating a valid one is a no-op.
 *
 * After the backfill no conversation counter is NULL any more, and nothing writes NULL (new
 * conversations get the defaults), so the conversation checks also forbid NULL. A message number
 * may still be NULL (a message written with the triggers disabled, e.g. by a replica-role
 * session): `check consistency` reports it and `resync sequence-numbers` repairs it, which is
 * better than rejecting the write.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { isKept } from '../../src/families/sequence/adoptIdentical.js';
import type { MigrationContext } from '../../src/migrate/context.js';
import { addCheckConstraintOnline, type CheckSpec, execOnline } from '../../src/migrate/online.js';

/** The first two keep the names of Nova's constraints (its "positive" member_count allows 0). */
const CHECKS: CheckSpec[] = [
  { table: 'messages', name: 'chk_sequence_number_positive', check: 'sequence_number > 0' },
  {
    table: 'conversations',
    name: 'chk_member_count_positive',
    check: 'member_count IS NOT NULL AND member_count >= 0',
  },
  {
    table: 'conversations',
    name: 'chk_last_sequence_number_nonnegative',
    check: 'last_sequence_number IS NOT NULL AND last_sequence_number >= 0',
  },
];

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  for (const check of CHECKS) await addCheckConstraintOnline(pgm, ctx, check);
}

/**
 * DROP CONSTRAINT is catalog-only (ACCESS EXCLUSIVE for milliseconds). Each one autocommits, so
 * no step holds one table's lock while waiting for the other's (see 0001). An identical CHECK
 * of the operator's that up kept (recorded by 0001, adoptIdentical.ts) is left in place.
 */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.noTransaction();
  for (const check of [...CHECKS].reverse()) {
    if (!(await isKept(pgm, ctx.schema, 'kept constraint', check.table, check.name)))
      await execOnline(
        pgm,
        ctx,
        `ALTER TABLE ${check.table} DROP CONSTRAINT IF EXISTS ${check.name}`,
      );
    else if (ctx.dryRun) pgm.sql(`-- ${check.table}.${check.name}: the operator's, left in place`);
  }
}

/**
 * partition 0006: writers that are not chunks' owner can leave partition_key out, on databases
 * whose 0001 ran before the reroute was split (see rerouteFunctionSql in
 * src/families/partition/online/key.ts; 0001 installs the split version since).
 *
 * The earlier reroute deleted the row of such a writer from chunks_default with the writer's
 * rights. An application role with INSERT on chunks has no right on the partition, so after the
 * swap every such insert failed: "permission denied for table chunks_default". Up installs the
 * split version: chunks_default_release (SECURITY DEFINER, owned by chunks' owner) deletes the row,
 * chunks_default_reroute inserts it again as the writer. Where 0001 already installed it, up
 * changes nothing. One short transaction: CREATE OR REPLACE TRIGGER takes SHARE ROW EXCLUSIVE on
 * chunks_default only (an insert without partition_key waits for milliseconds; writers that
 * supply the key never touch that partition).
 *
 * Down puts back what was there before up, saved by up in dbops.adopted (the reroute's definition,
 * and whether the release existed), in one transaction.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { quoteIdent, quoteLiteral } from '../../src/db/ident.js';
import { assertNothingAddedSinceUp } from '../../src/families/partition/online/downGuard.js';
import {
  DEFAULT_PARTITION,
  RELEASE_FUNCTION,
  REROUTE_FUNCTION,
  REROUTE_TRIGGER_SQL,
  rerouteFunctionSql,
} from '../../src/families/partition/online/key.js';
import { loadLayouts } from '../../src/families/partition/online/move.js';
import { functionStateSql, restoreOriginalSql, saveOriginalSql } from '../../src/migrate/adopt.js';
import type { MigrationContext } from '../../src/migrate/context.js';

const SAVED = 'reroute before 0006';

/**
 * SQL (evaluated by up) that down runs to put back the reroute as it was before up: its
 * definition, settings and owner, and no release where there was none.
 */
function beforeUpSql(schema: string): string {
  const q = (name: string) => `${quoteIdent(schema)}.${name}`;
  const dropRelease = `DROP TRIGGER IF EXISTS ${RELEASE_FUNCTION} ON ${q(DEFAULT_PARTITION)}; DROP FUNCTION IF EXISTS ${q(RELEASE_FUNCTION)}();`;
  return `${functionStateSql(`${q(REROUTE_FUNCTION)}()`)}
    || CASE WHEN to_regprocedure(${quoteLiteral(`${q(RELEASE_FUNCTION)}()`)}) IS NULL
            THEN ${quoteLiteral(` ${dropRelease}`)} ELSE '' END`;
}

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  pgm.sql(saveOriginalSql('partition', 'sql', SAVED, beforeUpSql(ctx.schema)));
  pgm.sql(rerouteFunctionSql(ctx.schema));
  pgm.sql(REROUTE_TRIGGER_SQL);
}

/**
 * The move back's guard first, as in 0005 (the last migration's down runs first): down refuses,
 * changing nothing, when chunks has objects added after up that the move back could not carry.
 */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  const { list } = await loadLayouts(pgm.db, ctx.schema);
  await assertNothingAddedSinceUp(pgm.db, ctx.schema, list);
  pgm.sql(restoreOriginalSql('partition', 'sql', SAVED));
}

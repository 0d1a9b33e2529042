/**
 * checkpoint 0003: the checkpoint query family as SQL functions, one statement each, so an
 * application (and the tests) drive the whole lifecycle through them: reserve, release, record
 * success, record error (retry later or fail), recover expired reservations, skip.
 *
 * Every function changes only `checkpoints`; the hot tables follow through 0001's trigger inside
 * the same statement. Beckett 0.23.0 also wrote the hot tables by hand next to its trigger, and
 * its reserve query failed on the reserved row the trigger had already inserted (duplicate key).
 *
 * Reserve and recover lock the *checkpoint* row (FOR UPDATE OF c ... SKIP LOCKED), never a hot
 * row: every writer takes the checkpoint first and its hot rows after, so lock order is the same
 * everywhere and a reserver never waits at all. After the lock, the row is re-checked against the
 * rule with its newest committed version, so a checkpoint another worker reserved (or completed)
 * since this statement's snapshot is skipped, never handed out twice.
 *
 * Created in a transaction; CREATE FUNCTION takes no table lock.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { checkpointFunctions } from '../../src/families/checkpoint/functions.js';
import {
  type CheckpointShape,
  migrationClient,
  requireCheckpointShape,
} from '../../src/families/checkpoint/shape.js';
import type { MigrationContext } from '../../src/migrate/context.js';

/*
 * What each function does (bodies in src/families/checkpoint/functions.ts, generated from the
 * schema's shape: how checkpoints are keyed, the columns' real types, the type of `retries`):
 * - checkpoint_reserve_next(group, timeout, statuses): the due ready checkpoint with the oldest
 *   process_at among the group's subscriptions in one of the statuses (Beckett reserves for
 *   active and replaying ones), reserved; returns the checkpoint with its subscription key
 *   (subscription_id, or group_name + name) and reserved_until, the reservation's token.
 * - checkpoint_release(id, token): gives a reservation back; an active checkpoint loses its
 *   process_at (Beckett's preprocessor sets it again if still lagging), a retry keeps it.
 * - checkpoint_record_success(id, position, process_at, token): clears reservation and retry state.
 * - checkpoint_record_error(id, position, error, retry_at, token): appends the error to `retries`
 *   in its real type (Beckett's retry[]: ROW(attempt, error, now())), counts the attempt, and
 *   schedules a retry at retry_at or, when NULL, marks the checkpoint failed.
 * - checkpoint_recover_expired(group, batch): releases reservations past reserved_until.
 * - checkpoint_skip(ids): an operator skips the message a checkpoint is stuck on.
 * With a token, record/release apply only while that reservation is the current one (a worker
 * whose reservation expired and was handed to another gets false).
 */

/**
 * Bodies as generated for the simplified schema; `check schema` (checks/checkpoint/schema.ts)
 * replaces them with the bodies generated from the database's own shape before comparing.
 */
export const installs: SchemaManifest = {
  functions: [
    'checkpoint_reserve_next',
    'checkpoint_release',
    'checkpoint_record_success',
    'checkpoint_record_error',
    'checkpoint_recover_expired',
    'checkpoint_skip',
  ].map((name) => ({ name, body: '(generated from the schema: see checks/checkpoint/schema.ts)' })),
};

async function shapeOf(pgm: MigrationBuilder, ctx: MigrationContext): Promise<CheckpointShape> {
  return requireCheckpointShape(migrationClient(pgm.db), ctx.schema);
}

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  for (const f of checkpointFunctions(await shapeOf(pgm, ctx))) {
    pgm.sql(`
CREATE FUNCTION ${f.name}(${f.signature})
RETURNS ${f.returns}
LANGUAGE sql VOLATILE
SET search_path FROM CURRENT
AS $fn$${f.body}$fn$`);
  }
}

export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  // By name and argument types, so an unrelated overload of the same name survives.
  for (const f of checkpointFunctions(await shapeOf(pgm, ctx)).reverse())
    pgm.sql(`DROP FUNCTION IF EXISTS ${f.name}(${f.types})`);
}

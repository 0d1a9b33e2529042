/**
 * checkpoint 0001: the hot tables checkpoints_ready / checkpoints_reserved, the eligibility rule
 * checkpoint_is_ready(), and the AFTER row triggers that keep the hot tables equal to the rule,
 * in one short transaction. Population is the next migration (batched, online).
 *
 * Locks: CREATE TABLE ... REFERENCES checkpoints and CREATE TRIGGER each take SHARE ROW EXCLUSIVE
 * on checkpoints (writers wait, readers do not) for the milliseconds this transaction lasts; the
 * new tables are empty, so their indexes and foreign keys cost nothing to build. lock_timeout
 * keeps the step from queueing behind a long transaction while writers queue behind it.
 *
 * Beckett's own checkpoint_preprocessor (BEFORE INSERT OR UPDATE: updated_at, process_at for newly
 * lagging active checkpoints, NOTIFY) is left untouched. Beckett 0.23.0 wrote the hot tables from
 * that BEFORE trigger, when the new checkpoint row did not exist yet, so every insert of a lagging
 * checkpoint failed the foreign key. Here they are written AFTER the row exists, from the final
 * row (after the preprocessor set process_at, with the generated `lagging` computed).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import { migrationClient, requireCheckpointShape } from '../../src/families/checkpoint/shape.js';
import type { MigrationContext } from '../../src/migrate/context.js';

/**
 * THE eligibility rule of the family, written once: population, the trigger, the reserve
 * function, resync and the consistency checks all call checkpoint_is_ready(c).
 *
 * A checkpoint has a checkpoints_ready row iff it has a process_at, is not reserved, and is
 * either active and lagging (stream_version > stream_position) or scheduled for retry (status
 * 'retry', whatever its position). The ready row carries the checkpoint's process_at, which may be
 * in the future (a scheduled retry, a deferred checkpoint): reserving takes only due rows.
 * Failed checkpoints and caught-up active ones are never ready. Never NULL.
 *
 * It is the one function of the family created without `SET search_path FROM CURRENT`, on
 * purpose: its body names no table or function (only its argument's columns and enum literals,
 * typed by the argument), so search_path cannot change its meaning, while a SET clause would stop
 * the planner from inlining it (measured: 3.4 s instead of 2 ms to evaluate it over 1M
 * checkpoints, because an inlined rule can use the checkpoints indexes).
 */
export const READY_RULE_BODY = `
SELECT c.process_at IS NOT NULL
   AND c.reserved_until IS NULL
   AND c.status IS NOT NULL
   AND (c.status = 'retry' OR (c.status = 'active' AND c.lagging IS TRUE))
`;

/**
 * Makes both hot rows of one checkpoint match the rule for its final row. Only sessions that hold
 * the checkpoint's row lock run this for it (the update that fired it, population and resync lock
 * it FOR SHARE first), so hot rows are always written under the checkpoint's lock: writers of one
 * checkpoint serialize, and no one ever waits on a hot row while holding another checkpoint.
 * Upserts skip unchanged rows so no dead tuple is written for them. A new checkpoint cannot have
 * hot rows yet (the foreign key), so INSERT skips the deletes.
 */
export const HOT_TABLES_TRIGGER_BODY = `
BEGIN
  IF checkpoint_is_ready(NEW) THEN
    INSERT INTO checkpoints_ready AS r (id, process_at) VALUES (NEW.id, NEW.process_at)
    ON CONFLICT (id) DO UPDATE SET process_at = EXCLUDED.process_at
     WHERE r.process_at IS DISTINCT FROM EXCLUDED.process_at;
  ELSIF TG_OP = 'UPDATE' THEN
    DELETE FROM checkpoints_ready WHERE id = NEW.id;
  END IF;
  IF NEW.reserved_until IS NOT NULL THEN
    INSERT INTO checkpoints_reserved AS r (id, reserved_until) VALUES (NEW.id, NEW.reserved_until)
    ON CONFLICT (id) DO UPDATE SET reserved_until = EXCLUDED.reserved_until
     WHERE r.reserved_until IS DISTINCT FROM EXCLUDED.reserved_until;
  ELSIF TG_OP = 'UPDATE' THEN
    DELETE FROM checkpoints_reserved WHERE id = NEW.id;
  END IF;
  RETURN NULL;
END
`;

export const installs: SchemaManifest = {
  tables: [
    { name: 'checkpoints_ready', columns: ['id', 'process_at'] },
    { name: 'checkpoints_reserved', columns: ['id', 'reserved_until'] },
  ],
  indexes: [
    { name: 'checkpoints_ready_pkey', table: 'checkpoints_ready' },
    { name: 'checkpoints_ready_process_at_idx', table: 'checkpoints_ready' },
    { name: 'checkpoints_reserved_pkey', table: 'checkpoints_reserved' },
    { name: 'checkpoints_reserved_reserved_until_idx', table: 'checkpoints_reserved' },
  ],
  functions: [
    { name: 'checkpoint_is_ready', body: READY_RULE_BODY },
    { name: 'checkpoint_hot_tables', body: HOT_TABLES_TRIGGER_BODY },
  ],
  triggers: [
    {
      name: 'checkpoint_hot_tables_insert',
      table: 'checkpoints',
      timing: 'AFTER',
      level: 'ROW',
      events: ['INSERT'],
      function: 'checkpoint_hot_tables',
    },
    {
      name: 'checkpoint_hot_tables_update',
      table: 'checkpoints',
      timing: 'AFTER',
      level: 'ROW',
      events: ['UPDATE'],
      function: 'checkpoint_hot_tables',
    },
  ],
};

export async function up(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  // The hot rows carry the checkpoint's own types (id, process_at, reserved_until), read from the
  // catalog; the rule and the trigger name only columns, so their text is the same everywhere.
  const { types } = await requireCheckpointShape(migrationClient(pgm.db), ctx.schema, {
    beforeCreate: true,
  });
  pgm.sql(`
CREATE FUNCTION checkpoint_is_ready(c checkpoints) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$${READY_RULE_BODY}$fn$`);
  // Deleting a checkpoint removes its hot rows through the foreign keys (no DELETE trigger
  // needed); ON UPDATE CASCADE lets an id change follow instead of failing. Side effect worth
  // knowing: TRUNCATE checkpoints now needs CASCADE, as for any referenced table.
  pgm.sql(`
CREATE TABLE checkpoints_ready (
  id ${types.id} PRIMARY KEY REFERENCES checkpoints (id) ON DELETE CASCADE ON UPDATE CASCADE,
  process_at ${types.processAt} NOT NULL
)`);
  pgm.sql(`
CREATE TABLE checkpoints_reserved (
  id ${types.id} PRIMARY KEY REFERENCES checkpoints (id) ON DELETE CASCADE ON UPDATE CASCADE,
  reserved_until ${types.reservedUntil} NOT NULL
)`);
  // Reserve path: due rows in process_at order. Recovery path: expired rows by reserved_until.
  pgm.sql('CREATE INDEX checkpoints_ready_process_at_idx ON checkpoints_ready (process_at)');
  pgm.sql(
    'CREATE INDEX checkpoints_reserved_reserved_until_idx ON checkpoints_reserved (reserved_until)',
  );
  pgm.sql(`
CREATE FUNCTION checkpoint_hot_tables() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$${HOT_TABLES_TRIGGER_BODY}$fn$`);
  // Row-level with WHEN, so updates that change none of the rule's inputs (stream_version bumps
  // of a reserved checkpoint, retries history, ...) do not even queue a trigger event. This is
  // safe because every hot row was right before the update: population and resync lock the
  // checkpoints they write (see 0002).
  pgm.sql(`
CREATE TRIGGER checkpoint_hot_tables_insert
AFTER INSERT ON checkpoints
FOR EACH ROW
WHEN (NEW.process_at IS NOT NULL OR NEW.reserved_until IS NOT NULL)
EXECUTE FUNCTION checkpoint_hot_tables()`);
  pgm.sql(`
CREATE TRIGGER checkpoint_hot_tables_update
AFTER UPDATE ON checkpoints
FOR EACH ROW
WHEN (OLD.process_at IS DISTINCT FROM NEW.process_at
   OR OLD.reserved_until IS DISTINCT FROM NEW.reserved_until
   OR OLD.status IS DISTINCT FROM NEW.status
   OR OLD.lagging IS DISTINCT FROM NEW.lagging)
EXECUTE FUNCTION checkpoint_hot_tables()`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  // Triggers first, so no write can call a function that no longer exists. DROP TRIGGER, and
  // DROP TABLE (it removes the foreign keys' internal triggers on checkpoints), take ACCESS
  // EXCLUSIVE on checkpoints (readers wait too) for the milliseconds of this transaction, bounded
  // by lock_timeout. Beckett's checkpoint_preprocessor was never changed, so nothing to restore.
  pgm.sql('DROP TRIGGER IF EXISTS checkpoint_hot_tables_update ON checkpoints');
  pgm.sql('DROP TRIGGER IF EXISTS checkpoint_hot_tables_insert ON checkpoints');
  pgm.sql('DROP FUNCTION IF EXISTS checkpoint_hot_tables()');
  pgm.sql('DROP TABLE IF EXISTS checkpoints_reserved');
  pgm.sql('DROP TABLE IF EXISTS checkpoints_ready');
  pgm.sql('DROP FUNCTION IF EXISTS checkpoint_is_ready(checkpoints)');
}

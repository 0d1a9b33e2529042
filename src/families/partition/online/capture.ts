import { quoteIdent } from '../../../db/ident.js';
import { ownedByOwnerOfSql } from '../../../migrate/adopt.js';
import { type Layout, LIVE_TABLE } from './layouts.js';

/**
 * What keeps a copy exact while the application writes: a row trigger on the live table records
 * the key of every row inserted, updated or deleted into chunks_copy_changes, in the writer's own
 * transaction (so a change is visible exactly when the row change is). The catch-up later makes
 * the staging copy's row for each recorded key equal to the live one (delete + insert from the
 * live table), so a write is never lost whatever it raced with. The copy cursor lives in
 * chunks_copy_progress and commits with each batch.
 *
 * None of these names matches ^chunks_part_[0-9]{2}$ (what monitoring counts).
 */
export const CHANGES_TABLE = 'chunks_copy_changes';
export const PROGRESS_TABLE = 'chunks_copy_progress';
const CAPTURE = 'chunks_copy_capture';
const NO_TRUNCATE = 'chunks_copy_no_truncate';

/**
 * The trigger functions name their table schema-qualified (`schema` is baked in at creation)
 * instead of `SET search_path FROM CURRENT`: they run in every writer's transaction, whatever its
 * search_path, for every row, and a SET clause costs ~20 us per call.
 *
 * The capture runs as chunks' owner (SECURITY DEFINER; it and the changes table are owned by that
 * role): an application role with rights on chunks only has none on chunks_copy_changes, and
 * without this every write of such a role failed ("permission denied for table
 * chunks_copy_changes") from 0001 until the swap. Its body depends on no search_path (the one
 * table qualified, the comparison through OPERATOR(pg_catalog.<>), the key columns NOT NULL), so a
 * caller's search_path cannot change what it does with the owner's rights.
 */
export function createMachinerySql(schema: string): string {
  const changes = `${quoteIdent(schema)}.${CHANGES_TABLE}`;
  return `
CREATE TABLE IF NOT EXISTS ${CHANGES_TABLE} (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id varchar NOT NULL,
  collection_id varchar NOT NULL
);
CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
  target text PRIMARY KEY,
  source_partition text NOT NULL,
  next_block bigint NOT NULL DEFAULT 0,
  finished boolean NOT NULL DEFAULT false
);
CREATE OR REPLACE FUNCTION ${CAPTURE}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ${changes} (id, collection_id) VALUES (NEW.id, NEW.collection_id);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO ${changes} (id, collection_id) VALUES (OLD.id, OLD.collection_id);
  ELSE
    INSERT INTO ${changes} (id, collection_id) VALUES (OLD.id, OLD.collection_id);
    IF NEW.id OPERATOR(pg_catalog.<>) OLD.id OR NEW.collection_id OPERATOR(pg_catalog.<>) OLD.collection_id THEN
      INSERT INTO ${changes} (id, collection_id) VALUES (NEW.id, NEW.collection_id);
    END IF;
  END IF;
  RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION ${CAPTURE}() FROM PUBLIC;
${ownedByOwnerOfSql(`${quoteIdent(schema)}.chunks`, [`FUNCTION ${quoteIdent(schema)}.${CAPTURE}()`, `TABLE ${changes}`])};
CREATE OR REPLACE FUNCTION ${NO_TRUNCATE}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'TRUNCATE of % is refused while dbops moves chunks to another partition layout', TG_TABLE_NAME
    USING HINT = 'Finish the move (dbops migrate up partition) or abandon it (dbops migrate down partition --all), then truncate.';
END
$fn$`;
}

export const DROP_MACHINERY = `
DROP FUNCTION IF EXISTS ${CAPTURE}() CASCADE;
DROP FUNCTION IF EXISTS ${NO_TRUNCATE}() CASCADE;
DROP TABLE IF EXISTS ${CHANGES_TABLE};
DROP TABLE IF EXISTS ${PROGRESS_TABLE}`;

/**
 * Installs the capture on the live table: the row trigger (defined on the parent, so PostgreSQL
 * clones it onto every partition and a write addressed to a partition directly is captured too)
 * and a guard refusing TRUNCATE of chunks, which no row trigger sees. A partition truncated
 * directly is not guarded (that would be one trigger per partition, each dropped again inside the
 * swap's lock); verification then finds the difference and nothing is swapped. CREATE OR REPLACE
 * makes it idempotent. CREATE TRIGGER takes SHARE ROW EXCLUSIVE on chunks, then on each partition
 * (parent first, like every writer): writers wait for the milliseconds of the enclosing
 * transaction, which lock_timeout bounds.
 */
export function installCaptureSql(): string[] {
  return [
    `CREATE OR REPLACE TRIGGER ${CAPTURE} AFTER INSERT OR UPDATE OR DELETE ON ${LIVE_TABLE}
       FOR EACH ROW EXECUTE FUNCTION ${CAPTURE}()`,
    `CREATE OR REPLACE TRIGGER ${NO_TRUNCATE} BEFORE TRUNCATE ON ${LIVE_TABLE}
       FOR EACH STATEMENT EXECUTE FUNCTION ${NO_TRUNCATE}()`,
  ];
}

/**
 * Drops the capture triggers from the live table (a no-op where absent). The explicit LOCK comes
 * first because DROP TRIGGER on a partitioned table takes ACCESS EXCLUSIVE on the partitions
 * (dropping the clones) before the parent: a writer holding the parent and waiting for its
 * partition then deadlocks with it (seen in testing). Locking the parent first, as writers do,
 * queues instead.
 */
export function removeCaptureSql(): string[] {
  return [
    `LOCK TABLE ${LIVE_TABLE} IN ACCESS EXCLUSIVE MODE`,
    `DROP TRIGGER IF EXISTS ${CAPTURE} ON ${LIVE_TABLE}`,
    `DROP TRIGGER IF EXISTS ${NO_TRUNCATE} ON ${LIVE_TABLE}`,
  ];
}

/** Starts (or restarts) the copy cursor of `target` at block 0 of the source's first partition. */
export function resetProgressSql(target: Layout, source: Layout): string {
  const first = source.partitions[0]!.name;
  return `INSERT INTO ${PROGRESS_TABLE} (target, source_partition, next_block, finished)
VALUES ('${target.staging}', '${first}', 0, false)
ON CONFLICT (target) DO UPDATE SET source_partition = EXCLUDED.source_partition, next_block = 0,
  finished = false`;
}

import { quoteIdent } from '../../../db/ident.js';
import { ownedByOwnerOfSql } from '../../../migrate/adopt.js';

/**
 * The partition key of the 100-LIST chunks table and the objects that make writers supply it.
 *
 * chunk_partition_key(collection_id) = abs(mod(hashtext(collection_id), 100)).
 * Total on every input: hashtext returns any int4 h, including -2147483648. mod(h, 100) keeps the
 * sign of h, so it is in -99..99 for every h (int4mod only special-cases a divisor of -1); abs() of
 * a value in -99..99 cannot overflow and lands in 0..99. NULL maps to NULL (STRICT), and
 * collection_id is NOT NULL. The upstream bugs this avoids: mod(hashtext(x), 100) alone is negative
 * for about half the keys, and abs(hashtext(x)) % 100 overflows for hashtext(x) = -2147483648.
 * hashtext is PostgreSQL's internal text hash (the one hash indexes use): stable across releases,
 * but not across byte orders, so a dump restored on a big-endian server must be re-keyed.
 *
 * Why these functions have no `SET search_path FROM CURRENT` (the house rule): a SET clause makes
 * every call save and restore the GUC (measured: 22 us per call, 80x the inlined expression) and
 * stops PostgreSQL from inlining a SQL function. chunk_partition_key runs for every row written,
 * so instead its body names only pg_catalog objects, schema-qualified: search_path cannot change
 * what it means. The error functions keep SET: they only run when a write is being rejected.
 */

export const KEY_FUNCTION = 'chunk_partition_key';
/** The name Semantik's post-migration code calls (partition_utils.compute_partition_key). */
export const SEMANTIK_KEY_FUNCTION = 'get_partition_key';
export const KEY_CHECK = 'chunks_partition_key_check';

export const KEY_FUNCTION_BODY = `
SELECT pg_catalog.abs(pg_catalog.mod(pg_catalog.hashtext($1), 100))
`;

/** Semantik's get_partition_key: the same body, so the same values whatever search_path is. */
export const SEMANTIK_KEY_FUNCTION_BODY = KEY_FUNCTION_BODY;

/**
 * The DEFAULT of the LIST table's partition_key, evaluated only when a writer leaves the column
 * out (Semantik's code as deployed before the change: its model has no such column). PostgreSQL
 * routes a row before any BEFORE trigger could set the key, so the row is given UNKNOWN_KEY,
 * lands in the DEFAULT partition, and the row trigger there (REROUTE_BODY) moves it to its
 * partition in the same statement. The name is kept from when a left-out key was an error.
 */
export const UNKNOWN_KEY = -1;
export const KEY_MISSING_BODY = `
SELECT ${UNKNOWN_KEY}
`;

/** The partition that receives rows of writers that leave partition_key out, for a moment. */
export const DEFAULT_PARTITION = 'chunks_default';
export const REROUTE_FUNCTION = 'chunks_default_reroute';
export const REROUTE_TRIGGER = 'chunks_default_reroute';

/**
 * The reroute of a row a writer inserted without partition_key: two AFTER INSERT row triggers on
 * the DEFAULT partition, in the writer's statement (so the writer's transaction commits the row
 * in its partition, the DEFAULT partition is empty at rest, and the writer's RETURNING and row
 * count are those of its own insert; writers that supply the key never reach this partition):
 * - chunks_default_release deletes the row just inserted there (it has the unknown key). It runs
 *   as chunks' owner (SECURITY DEFINER, search_path pinned, every name qualified): an application
 *   role with INSERT on chunks has no right on its partitions, and when the reroute deleted the
 *   row itself such a writer's insert failed with "permission denied for table chunks_default".
 *   It can delete nothing but rows with the unknown key, which exist only inside the inserting
 *   transaction. Its trigger's name sorts before the reroute's, so it fires first.
 * - chunks_default_reroute inserts the row again with partition_key =
 *   chunk_partition_key(collection_id), which routes it to chunks_part_NN, as the writer: foreign
 *   key checks, row security and the application's triggers see the writer, as for any insert.
 * Tables are named schema-qualified (baked in at creation). Installed by 0001 (and by 0006 where
 * 0001 ran before the split).
 */
export const RELEASE_FUNCTION = 'chunks_default_release';

export function rerouteFunctionSql(schema: string): string {
  const s = (name: string) => `${quoteIdent(schema)}.${name}`;
  return `CREATE OR REPLACE FUNCTION ${s(RELEASE_FUNCTION)}() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF NEW.partition_key <> ${UNKNOWN_KEY} THEN RETURN NULL; END IF;
  DELETE FROM ${s(DEFAULT_PARTITION)} d
   WHERE d.id = NEW.id AND d.collection_id = NEW.collection_id AND d.partition_key = ${UNKNOWN_KEY};
  RETURN NULL;
END
$fn$;
${ownedByOwnerOfSql(s('chunks'), [`FUNCTION ${s(RELEASE_FUNCTION)}()`])};
REVOKE ALL ON FUNCTION ${s(RELEASE_FUNCTION)}() FROM PUBLIC;
CREATE OR REPLACE FUNCTION ${s(REROUTE_FUNCTION)}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.partition_key <> ${UNKNOWN_KEY} THEN RETURN NULL; END IF;
  NEW.partition_key := ${s(KEY_FUNCTION)}(NEW.collection_id);
  INSERT INTO ${s('chunks')} SELECT NEW.*;
  RETURN NULL;
END
$fn$`;
}

/** The release and reroute triggers on a LIST table's DEFAULT partition (release fires first). */
export const REROUTE_TRIGGER_SQL = `CREATE OR REPLACE TRIGGER ${RELEASE_FUNCTION} AFTER INSERT ON ${DEFAULT_PARTITION}
  FOR EACH ROW EXECUTE FUNCTION ${RELEASE_FUNCTION}();
CREATE OR REPLACE TRIGGER ${REROUTE_TRIGGER} AFTER INSERT ON ${DEFAULT_PARTITION}
  FOR EACH ROW EXECUTE FUNCTION ${REROUTE_FUNCTION}()`;

/** Called only when partition_key is in range but is not the key of collection_id. */
export const KEY_MISMATCH_BODY = `
BEGIN
  RAISE EXCEPTION 'chunks.partition_key % is wrong for collection_id %: set partition_key = chunk_partition_key(collection_id), which is %',
        key, pg_catalog.quote_literal(collection_id), chunk_partition_key(collection_id)
    USING ERRCODE = 'check_violation',
          HINT = 'Compute the key in SQL with chunk_partition_key(collection_id); do not compute it in application code.';
END
`;

/**
 * Creates the key function (and Semantik's name for it), and the error functions. partition_key
 * is a plain integer column (bounds print as FOR VALUES IN (7), not the ('7') of a domain type):
 * a left-out key becomes UNKNOWN_KEY through the column DEFAULT and is rerouted (see above); a
 * wrong key gets the CHECK's message naming the function (a key outside 0..99 too: it lands in
 * the DEFAULT partition, where the CHECK runs). An explicit NULL fails NOT NULL.
 */
export const CREATE_KEY_OBJECTS = `
CREATE FUNCTION ${KEY_FUNCTION}(collection_id varchar) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$${KEY_FUNCTION_BODY}$fn$;
COMMENT ON FUNCTION ${KEY_FUNCTION}(varchar) IS
  'Partition key of chunks (0..99) for a collection_id: abs(mod(hashtext(collection_id), 100)). Writers set chunks.partition_key to this.';
CREATE FUNCTION ${SEMANTIK_KEY_FUNCTION}(collection_id varchar) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$${SEMANTIK_KEY_FUNCTION_BODY}$fn$;
COMMENT ON FUNCTION ${SEMANTIK_KEY_FUNCTION}(varchar) IS
  'Semantik''s name for ${KEY_FUNCTION}(collection_id): the same values (total: no overflow for any hashtext).';
CREATE FUNCTION chunk_partition_key_missing() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$${KEY_MISSING_BODY}$fn$;
CREATE FUNCTION chunk_partition_key_mismatch(collection_id varchar, key integer) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT
AS $fn$${KEY_MISMATCH_BODY}$fn$`;

/** The key column of the LIST table. */
export const KEY_COLUMN_DEFINITION =
  'partition_key integer NOT NULL DEFAULT chunk_partition_key_missing()';

/** The CHECK on the LIST table: partition_key is the key of the row's collection_id. */
export const KEY_CHECK_DEFINITION = `CONSTRAINT ${KEY_CHECK} CHECK (CASE WHEN partition_key = ${KEY_FUNCTION}(collection_id) THEN true WHEN partition_key = ${UNKNOWN_KEY} THEN true ELSE chunk_partition_key_mismatch(collection_id, partition_key) END)`;

export const DROP_KEY_OBJECTS = `
DROP FUNCTION IF EXISTS ${REROUTE_FUNCTION}() CASCADE;
DROP FUNCTION IF EXISTS ${RELEASE_FUNCTION}() CASCADE;
DROP FUNCTION IF EXISTS chunk_partition_key_mismatch(varchar, integer);
DROP FUNCTION IF EXISTS chunk_partition_key_missing();
DROP FUNCTION IF EXISTS ${SEMANTIK_KEY_FUNCTION}(varchar);
DROP FUNCTION IF EXISTS ${KEY_FUNCTION}(varchar)`;

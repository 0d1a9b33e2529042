/**
 * Queen's own queen.partition_lookup as Queen shipped it, reconstructed from smartpricing/queen
 * (DDL retyped from the files named per version; comments and the verification queries left
 * out). Each is applied on top of lookup_real.sql, which is Queen's bootstrap schema V3 from the
 * parent of 4fd1510, the commit that introduced the table.
 */

/** The table: identical in every version (server/migrations/create_partition_lookup.sql, lib/schema/schema.sql). */
const TABLE = `
CREATE TABLE IF NOT EXISTS queen.partition_lookup (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    queue_name VARCHAR(255) NOT NULL REFERENCES queen.queues(name) ON DELETE CASCADE,
    partition_id UUID NOT NULL REFERENCES queen.partitions(id) ON DELETE CASCADE,
    last_message_id UUID NOT NULL,
    last_message_created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ DEFAULT NOW(),
    UNIQUE(queue_name, partition_id)
);`;

/** The trigger function; `ordered` adds the ORDER BY of lib/schema/schema.sql (6332bb7 on). */
const FUNCTION = (ordered: boolean) => `
CREATE OR REPLACE FUNCTION queen.update_partition_lookup_trigger()
RETURNS TRIGGER AS $$
BEGIN
    WITH batch_max AS (
        SELECT DISTINCT ON (partition_id)
            partition_id,
            created_at as max_created_at,
            id as max_id
        FROM new_messages
        ORDER BY partition_id, created_at DESC, id DESC
    )
    INSERT INTO queen.partition_lookup (
        queue_name, partition_id, last_message_id, last_message_created_at, updated_at
    )
    SELECT
        q.name,
        bm.partition_id,
        bm.max_id,
        bm.max_created_at,
        NOW()
    FROM batch_max bm
    JOIN queen.partitions p ON p.id = bm.partition_id
    JOIN queen.queues q ON q.id = p.queue_id${ordered ? '\n    ORDER BY bm.partition_id' : ''}
    ON CONFLICT (queue_name, partition_id)
    DO UPDATE SET
        last_message_id = EXCLUDED.last_message_id,
        last_message_created_at = EXCLUDED.last_message_created_at,
        updated_at = NOW()
    WHERE
        EXCLUDED.last_message_created_at > queen.partition_lookup.last_message_created_at
        OR (EXCLUDED.last_message_created_at = queen.partition_lookup.last_message_created_at
            AND EXCLUDED.last_message_id > queen.partition_lookup.last_message_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;`;

const TRIGGER = `
CREATE OR REPLACE TRIGGER trg_update_partition_lookup
    AFTER INSERT ON queen.messages
    REFERENCING NEW TABLE AS new_messages
    FOR EACH STATEMENT
    EXECUTE FUNCTION queen.update_partition_lookup_trigger();`;

/** Step 4 of 79de6f4's create_partition_lookup.sql: the one-shot population of old messages. */
const POPULATE = `
INSERT INTO queen.partition_lookup (queue_name, partition_id, last_message_id, last_message_created_at)
SELECT q.name, p.id, m.id, m.created_at
FROM queen.partitions p
JOIN queen.queues q ON p.queue_id = q.id
JOIN LATERAL (
    SELECT id, created_at FROM queen.messages
    WHERE partition_id = p.id
    ORDER BY created_at DESC, id DESC
    LIMIT 1
) m ON true
ON CONFLICT (queue_name, partition_id) DO NOTHING;`;

const TUNING = `
ALTER TABLE queen.partition_lookup SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 50,
    autovacuum_vacuum_cost_delay = 0,
    fillfactor = 50
);`;

export interface QueenLookupVersion {
  name: string;
  /** Where the DDL comes from in smartpricing/queen. */
  source: string;
  sql: string;
}

export const QUEEN_LOOKUP_VERSIONS: QueenLookupVersion[] = [
  {
    name: '0.6.9 migration script',
    source: '79de6f4 server/migrations/create_partition_lookup.sql',
    sql: `${TABLE}
CREATE INDEX IF NOT EXISTS idx_partition_lookup_queue_name ON queen.partition_lookup(queue_name);
CREATE INDEX IF NOT EXISTS idx_partition_lookup_partition_id ON queen.partition_lookup(partition_id);
CREATE INDEX IF NOT EXISTS idx_partition_lookup_timestamp ON queen.partition_lookup(last_message_created_at DESC);
${FUNCTION(false)}
DROP TRIGGER IF EXISTS trg_update_partition_lookup ON queen.messages;
${TRIGGER}
${POPULATE}`,
  },
  {
    name: 'schema.sql with the composite index',
    source: '6332bb7 lib/schema/schema.sql',
    sql: `${TABLE}
CREATE INDEX IF NOT EXISTS idx_partition_lookup_queue_message_ts ON queen.partition_lookup(queue_name, last_message_created_at DESC);
${FUNCTION(true)}
${TRIGGER}
${POPULATE}`,
  },
  {
    name: 'schema.sql with fillfactor 50',
    source: 'c170d01 lib/schema/schema.sql',
    sql: `${TABLE}
${FUNCTION(true)}
${TUNING}
DROP INDEX IF EXISTS queen.idx_partition_lookup_queue_message_ts;
${TRIGGER}
${POPULATE}`,
  },
  {
    // 0.14 keeps the table fresh from the push procedure (update_partition_lookup_v1) and a
    // reconcile job; the trigger is dropped, its function kept for rollback.
    name: '0.14 schema.sql without trigger',
    source: '5bf6e7e lib/schema/schema.sql',
    sql: `${TABLE}
CREATE INDEX IF NOT EXISTS idx_partition_lookup_partition_id ON queen.partition_lookup(partition_id);
${FUNCTION(true)}
${TUNING}
DROP TRIGGER IF EXISTS trg_update_partition_lookup ON queen.messages;
${POPULATE}`,
  },
];

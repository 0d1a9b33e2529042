/**
 * sequence 0005: conversations.last_message_id / last_message_at kept by triggers on messages,
 * in one short transaction. CREATE TRIGGER takes SHARE ROW EXCLUSIVE on messages (writes wait,
 * reads go on) for milliseconds, bounded by lock_timeout.
 *
 * "Last" is the newest by (created_at, id), the order the backfill numbers history in. Messages
 * without created_at never become the last message (nothing says they are newer than anything);
 * soft-deleted messages count, as in Nova's query this replaces.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import {
  createFunctionSql,
  createTriggerSql,
  dropFunctionSql,
  dropTriggerSql,
  manifestOf,
  type PlpgsqlFunction,
  type TriggerDef,
} from '../../src/migrate/ddl.js';

/**
 * AFTER INSERT FOR EACH ROW: advance only, so a back-dated or late-committing message never
 * moves last_message backwards. AFTER, not in the BEFORE trigger: a row that ON CONFLICT skips
 * must not become the last message. The conversation row is already locked by
 * set_message_sequence (0003), so this takes no new lock.
 */
export const ADVANCE_LAST_MESSAGE_BODY = `
BEGIN
  IF NEW.created_at IS NOT NULL THEN
    UPDATE conversations SET last_message_id = NEW.id, last_message_at = NEW.created_at
     WHERE id = NEW.conversation_id
       AND (last_message_at IS NULL
            OR (last_message_at, last_message_id) < (NEW.created_at, NEW.id));
  END IF;
  RETURN NULL;
END
`;

/**
 * Recomputes last_message of the given conversations from messages. Locks them first, in id
 * order (no deadlock between two such calls), and reads in the next statement: under READ
 * COMMITTED that statement's snapshot includes whatever the writers it waited for committed.
 * Every writer that can change a conversation's newest message holds this lock until commit
 * (inserts via the sequence trigger, deletes and moves via this function), so when two
 * transactions delete the newest and the second newest message at once, the second to get the
 * lock sees the first's delete: no dangling last_message_id.
 * Every row is written even when unchanged: the new row version makes a REPEATABLE READ
 * transaction that would recompute from an older snapshot fail with 40001 instead.
 */
export const REFRESH_LAST_MESSAGE_BODY = `
BEGIN
  PERFORM 1 FROM conversations WHERE id = ANY (targets) ORDER BY id FOR NO KEY UPDATE;
  UPDATE conversations c
     SET (last_message_id, last_message_at) = (
           SELECT m.id, m.created_at FROM messages m
            WHERE m.conversation_id = c.id AND m.created_at IS NOT NULL
            ORDER BY m.created_at DESC, m.id DESC LIMIT 1)
   WHERE c.id = ANY (targets);
END
`;

/** AFTER DELETE FOR EACH STATEMENT: every conversation that lost a message, once. */
export const MESSAGES_DELETED_BODY = `
BEGIN
  PERFORM refresh_conversation_last_message(
    ARRAY(SELECT DISTINCT conversation_id FROM removed_messages));
  RETURN NULL;
END
`;

/** AFTER UPDATE OF conversation_id, created_at FOR EACH ROW WHEN either changed: both sides. */
export const MESSAGE_MOVED_BODY = `
BEGIN
  PERFORM refresh_conversation_last_message(ARRAY[OLD.conversation_id, NEW.conversation_id]);
  RETURN NULL;
END
`;

/** AFTER TRUNCATE of messages. The counters stay: numbers already handed out are not reused. */
export const MESSAGES_TRUNCATED_BODY = `
BEGIN
  UPDATE conversations SET last_message_id = NULL, last_message_at = NULL
   WHERE last_message_id IS NOT NULL OR last_message_at IS NOT NULL;
  RETURN NULL;
END
`;

const FUNCTIONS: PlpgsqlFunction[] = [
  { name: 'advance_last_message', body: ADVANCE_LAST_MESSAGE_BODY },
  {
    name: 'refresh_conversation_last_message',
    args: 'targets uuid[]',
    argTypes: 'uuid[]',
    returns: 'void',
    body: REFRESH_LAST_MESSAGE_BODY,
  },
  { name: 'refresh_last_message_after_delete', body: MESSAGES_DELETED_BODY },
  { name: 'refresh_last_message_after_move', body: MESSAGE_MOVED_BODY },
  { name: 'clear_last_message_after_truncate', body: MESSAGES_TRUNCATED_BODY },
];

const TRIGGERS: TriggerDef[] = [
  {
    name: 'update_last_message_on_insert',
    table: 'messages',
    timing: 'AFTER',
    level: 'ROW',
    events: ['INSERT'],
    function: 'advance_last_message',
    clause: 'AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION advance_last_message()',
  },
  {
    name: 'update_last_message_on_delete',
    table: 'messages',
    timing: 'AFTER',
    level: 'STATEMENT',
    events: ['DELETE'],
    function: 'refresh_last_message_after_delete',
    clause: `AFTER DELETE ON messages REFERENCING OLD TABLE AS removed_messages
FOR EACH STATEMENT EXECUTE FUNCTION refresh_last_message_after_delete()`,
  },
  {
    name: 'update_last_message_on_move',
    table: 'messages',
    timing: 'AFTER',
    level: 'ROW',
    events: ['UPDATE'],
    function: 'refresh_last_message_after_move',
    clause: `AFTER UPDATE OF conversation_id, created_at ON messages FOR EACH ROW
WHEN (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id
      OR OLD.created_at IS DISTINCT FROM NEW.created_at)
EXECUTE FUNCTION refresh_last_message_after_move()`,
  },
  {
    name: 'clear_last_message_on_truncate',
    table: 'messages',
    timing: 'AFTER',
    level: 'STATEMENT',
    events: ['TRUNCATE'],
    function: 'clear_last_message_after_truncate',
    clause: `AFTER TRUNCATE ON messages
FOR EACH STATEMENT EXECUTE FUNCTION clear_last_message_after_truncate()`,
  },
];

export const installs: SchemaManifest = manifestOf(FUNCTIONS, TRIGGERS);

export async function up(pgm: MigrationBuilder): Promise<void> {
  for (const f of FUNCTIONS) pgm.sql(createFunctionSql(f));
  for (const t of TRIGGERS) pgm.sql(createTriggerSql(t));
}

/** Triggers first (nothing may call a dropped function), then the functions. */
export async function down(pgm: MigrationBuilder): Promise<void> {
  for (const t of [...TRIGGERS].reverse()) pgm.sql(dropTriggerSql(t));
  for (const f of [...FUNCTIONS].reverse()) pgm.sql(dropFunctionSql(f));
}

/**
 * sequence 0004: conversations.member_count kept by triggers on conversation_members, in one
 * short transaction. CREATE TRIGGER takes SHARE ROW EXCLUSIVE on conversation_members (member
 * writes wait, reads go on) for milliseconds, bounded by lock_timeout.
 *
 * A conversation not computed yet (last_sequence_number NULL) is counted by the backfill (0007);
 * there a delta is a no-op, but it still takes the conversation's row lock, which is what lets
 * the backfill count while members come and go: whichever of the two gets the lock second sees
 * the other's change (see 0007).
 *
 * Inserts and deletes are statement-level triggers: one delta per conversation, applied in
 * conversation id order, so two multi-row statements cannot deadlock on each other. A move
 * (UPDATE of conversation_id) is a row trigger with a WHEN clause, so the frequent updates of
 * last_read_at and friends pay nothing. TRUNCATE sets every count to 0.
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
 * member_count += delta under the conversation's row lock. An underflow is an error, not
 * clamped: a count going negative was already wrong (Nova's GREATEST(x - 1, 0) hid exactly
 * that). Locked first, checked, then written: READ COMMITTED returns the latest committed value
 * after any wait, and the error is raised before the CHECK constraint of 0009 would be.
 * A conversation not computed yet (last_sequence_number NULL) is only locked: the backfill counts
 * it. Its member_count is NULL when dbops added the column, but an adopted one holds the
 * deployment's old value, which may be wrong and must not make a member's removal fail.
 */
export const APPLY_MEMBER_DELTA_BODY = `
DECLARE
  current integer;
  counted boolean;
BEGIN
  SELECT member_count, last_sequence_number IS NOT NULL INTO current, counted
    FROM conversations WHERE id = target FOR NO KEY UPDATE;
  IF NOT counted THEN
    RETURN;
  END IF;
  IF current + delta < 0 THEN
    RAISE EXCEPTION 'member_count of conversation % would drop below zero (% %)', target, current, delta
      USING ERRCODE = 'check_violation',
            HINT = 'member_count is out of step with conversation_members: run dbops resync conversation-stats';
  END IF;
  UPDATE conversations SET member_count = member_count + delta WHERE id = target;
END
`;

/** AFTER INSERT / AFTER DELETE FOR EACH STATEMENT: one delta per conversation, in id order. */
export const MEMBERS_CHANGED_BODY = `
DECLARE
  r record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR r IN SELECT conversation_id, count(*)::integer AS n FROM added_members
              GROUP BY conversation_id ORDER BY conversation_id LOOP
      PERFORM apply_member_count_delta(r.conversation_id, r.n);
    END LOOP;
  ELSE
    FOR r IN SELECT conversation_id, count(*)::integer AS n FROM removed_members
              GROUP BY conversation_id ORDER BY conversation_id LOOP
      PERFORM apply_member_count_delta(r.conversation_id, -r.n);
    END LOOP;
  END IF;
  RETURN NULL;
END
`;

/** AFTER UPDATE OF conversation_id FOR EACH ROW WHEN it changed: -1 and +1, lower id first. */
export const MEMBER_MOVED_BODY = `
BEGIN
  IF OLD.conversation_id < NEW.conversation_id THEN
    PERFORM apply_member_count_delta(OLD.conversation_id, -1);
    PERFORM apply_member_count_delta(NEW.conversation_id, 1);
  ELSE
    PERFORM apply_member_count_delta(NEW.conversation_id, 1);
    PERFORM apply_member_count_delta(OLD.conversation_id, -1);
  END IF;
  RETURN NULL;
END
`;

/** AFTER TRUNCATE of conversation_members: nobody is a member of anything any more. */
export const MEMBERS_TRUNCATED_BODY = `
BEGIN
  UPDATE conversations SET member_count = 0 WHERE member_count IS DISTINCT FROM 0;
  RETURN NULL;
END
`;

const FUNCTIONS: PlpgsqlFunction[] = [
  {
    name: 'apply_member_count_delta',
    args: 'target uuid, delta integer',
    argTypes: 'uuid, integer',
    returns: 'void',
    body: APPLY_MEMBER_DELTA_BODY,
  },
  { name: 'count_members_after_change', body: MEMBERS_CHANGED_BODY },
  { name: 'count_members_after_move', body: MEMBER_MOVED_BODY },
  { name: 'reset_member_count_after_truncate', body: MEMBERS_TRUNCATED_BODY },
];

const TRIGGERS: TriggerDef[] = [
  {
    name: 'update_member_count_on_add',
    table: 'conversation_members',
    timing: 'AFTER',
    level: 'STATEMENT',
    events: ['INSERT'],
    function: 'count_members_after_change',
    newTable: true,
    clause: `AFTER INSERT ON conversation_members REFERENCING NEW TABLE AS added_members
FOR EACH STATEMENT EXECUTE FUNCTION count_members_after_change()`,
  },
  {
    name: 'update_member_count_on_remove',
    table: 'conversation_members',
    timing: 'AFTER',
    level: 'STATEMENT',
    events: ['DELETE'],
    function: 'count_members_after_change',
    clause: `AFTER DELETE ON conversation_members REFERENCING OLD TABLE AS removed_members
FOR EACH STATEMENT EXECUTE FUNCTION count_members_after_change()`,
  },
  {
    name: 'update_member_count_on_move',
    table: 'conversation_members',
    timing: 'AFTER',
    level: 'ROW',
    events: ['UPDATE'],
    function: 'count_members_after_move',
    clause: `AFTER UPDATE OF conversation_id ON conversation_members FOR EACH ROW
WHEN (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id)
EXECUTE FUNCTION count_members_after_move()`,
  },
  {
    name: 'reset_member_count_on_truncate',
    table: 'conversation_members',
    timing: 'AFTER',
    level: 'STATEMENT',
    events: ['TRUNCATE'],
    function: 'reset_member_count_after_truncate',
    clause: `AFTER TRUNCATE ON conversation_members
FOR EACH STATEMENT EXECUTE FUNCTION reset_member_count_after_truncate()`,
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

/**
 * sequence 0010: the insert path's triggers made cheaper, same guarantees (issue 21 item 5).
 * One short transaction: CREATE OR REPLACE TRIGGER takes SHARE ROW EXCLUSIVE on messages (inserts
 * and updates wait, reads go on) for milliseconds, bounded by lock_timeout. Inserts never run
 * without numbering or content_tsv: the triggers are redefined inside the one transaction.
 *
 * Two changes, each measured (docs/perf.md, "Trigger costs (item 5)"):
 *
 * - content_tsv of an INSERT is computed by the numbering function (0003's
 *   `assign_message_sequence`), so an insert makes one PL/pgSQL trigger call per row instead of
 *   two. `set_message_content_tsv` now fires only on UPDATE OF content (as before for updates).
 *   The moved-message path (BEFORE UPDATE OF conversation_id) runs the same function and does not
 *   touch content_tsv: TG_OP is 'UPDATE' there.
 * - last_message advances once per statement, from a transition table: one set-based UPDATE of
 *   the conversations the statement inserted into (the newest inserted row of each), instead of a
 *   second UPDATE statement per inserted row. The guarantees are 0005's:
 *   - A row that ON CONFLICT skips, or that a BEFORE trigger suppresses, is not in the transition
 *     table: it never becomes the last message.
 *   - Advance only, by (created_at, id): a back-dated or late-committing message never moves
 *     last_message backwards; rows without created_at are ignored.
 *   - No new lock and no new lock order: every conversation the statement inserted into is
 *     already locked by the counter UPDATE of its rows (set_message_sequence, 0003, BEFORE each
 *     row), held until commit; this UPDATE only writes rows this transaction holds.
 *
 * `down` puts back 0003's and 0005's definitions exactly (bodies and triggers), in one
 * transaction.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import {
  createFunctionSql,
  createTriggerSql,
  manifestOf,
  type PlpgsqlFunction,
  type TriggerDef,
} from '../../src/migrate/ddl.js';
import { ASSIGN_SEQUENCE_BODY } from './0003_message_sequence.js';
import { ADVANCE_LAST_MESSAGE_BODY } from './0005_last_message.js';

/**
 * 0003's numbering, and on INSERT the content_tsv that `message_content_tsv` computed (first,
 * whatever path the numbering then takes). Everything else as 0003 documents it.
 */
export const ASSIGN_SEQUENCE_AND_TSV_BODY = `
DECLARE
  taken bigint;
  existing bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.content_tsv := to_tsvector('english'::regconfig, coalesce(NEW.content, ''));
  END IF;
  UPDATE conversations SET last_sequence_number = last_sequence_number + 1
   WHERE id = NEW.conversation_id
  RETURNING last_sequence_number INTO taken;
  IF TG_OP = 'INSERT' AND taken IS NOT NULL THEN
    SELECT m.sequence_number INTO existing
      FROM messages m WHERE m.id = NEW.id AND m.conversation_id = NEW.conversation_id;
    IF existing IS NOT NULL THEN
      UPDATE conversations SET last_sequence_number = last_sequence_number - 1
       WHERE id = NEW.conversation_id;
      taken := existing;
    END IF;
  END IF;
  IF taken IS NOT NULL OR to_regclass('dbops.sequence_original_numbers') IS NULL THEN
    NEW.sequence_number := taken;
  END IF;
  RETURN NEW;
END
`;

/**
 * AFTER INSERT FOR EACH STATEMENT over the inserted rows (`inserted_messages`): the newest
 * inserted message of each conversation, by (created_at, id), becomes its last message when it is
 * newer than the current one. Same rule as 0005's row trigger, applied once per conversation.
 */
export const ADVANCE_LAST_MESSAGE_STATEMENT_BODY = `
BEGIN
  UPDATE conversations c
     SET last_message_id = n.id, last_message_at = n.created_at
    FROM (SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at
            FROM inserted_messages
           WHERE created_at IS NOT NULL
           ORDER BY conversation_id, created_at DESC, id DESC) n
   WHERE c.id = n.conversation_id
     AND (c.last_message_at IS NULL
          OR (c.last_message_at, c.last_message_id) < (n.created_at, n.id));
  RETURN NULL;
END
`;

const FUNCTIONS: PlpgsqlFunction[] = [
  { name: 'assign_message_sequence', body: ASSIGN_SEQUENCE_AND_TSV_BODY },
  { name: 'advance_last_message', body: ADVANCE_LAST_MESSAGE_STATEMENT_BODY },
];

const TRIGGERS: TriggerDef[] = [
  {
    name: 'set_message_content_tsv',
    table: 'messages',
    timing: 'BEFORE',
    level: 'ROW',
    events: ['UPDATE'],
    function: 'message_content_tsv',
    clause: `BEFORE UPDATE OF content ON messages
FOR EACH ROW EXECUTE FUNCTION message_content_tsv()`,
  },
  {
    name: 'update_last_message_on_insert',
    table: 'messages',
    timing: 'AFTER',
    level: 'STATEMENT',
    events: ['INSERT'],
    function: 'advance_last_message',
    newTable: true,
    clause: `AFTER INSERT ON messages REFERENCING NEW TABLE AS inserted_messages
FOR EACH STATEMENT EXECUTE FUNCTION advance_last_message()`,
  },
];

/** 0003's and 0005's definitions of the same objects, which `down` restores. */
const PREVIOUS_FUNCTIONS: PlpgsqlFunction[] = [
  { name: 'assign_message_sequence', body: ASSIGN_SEQUENCE_BODY },
  { name: 'advance_last_message', body: ADVANCE_LAST_MESSAGE_BODY },
];

const PREVIOUS_TRIGGERS: TriggerDef[] = [
  {
    name: 'set_message_content_tsv',
    table: 'messages',
    timing: 'BEFORE',
    level: 'ROW',
    events: ['INSERT', 'UPDATE'],
    function: 'message_content_tsv',
    clause: `BEFORE INSERT OR UPDATE OF content ON messages
FOR EACH ROW EXECUTE FUNCTION message_content_tsv()`,
  },
  {
    name: 'update_last_message_on_insert',
    table: 'messages',
    timing: 'AFTER',
    level: 'ROW',
    events: ['INSERT'],
    function: 'advance_last_message',
    clause: 'AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION advance_last_message()',
  },
];

/** Replaces 0003's and 0005's entries of the same names (later manifests win, by name). */
export const installs: SchemaManifest = manifestOf(FUNCTIONS, TRIGGERS);

/**
 * Both triggers are redefined in place (CREATE OR REPLACE TRIGGER) and the two functions
 * replaced, in this migration's one transaction: no insert sees a state in between (inserts wait
 * on the lock, and the new definitions become visible together at commit). The trigger comes
 * first, so the transaction's first lock on messages is SHARE ROW EXCLUSIVE and it never asks for
 * a stronger one: DROP TRIGGER would take ACCESS EXCLUSIVE, and upgrading to it can deadlock with
 * a writer that read messages and then waits to write it (the chaos suite's kill points hit
 * exactly that with DROP + CREATE).
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  redefine(pgm, FUNCTIONS, TRIGGERS);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  redefine(pgm, PREVIOUS_FUNCTIONS, PREVIOUS_TRIGGERS);
}

function redefine(
  pgm: MigrationBuilder,
  functions: PlpgsqlFunction[],
  triggers: TriggerDef[],
): void {
  for (const t of triggers) pgm.sql(createTriggerSql(t, { orReplace: true }));
  for (const f of functions) pgm.sql(createFunctionSql(f, { orReplace: true }));
}

/**
 * sequence 0003: numbering of new messages and their content_tsv, in one short transaction.
 * CREATE TRIGGER takes SHARE ROW EXCLUSIVE on messages (inserts and updates wait, reads go on)
 * for the milliseconds this transaction lasts; lock_timeout bounds the wait for it.
 *
 * From this commit on every message insert takes its number from the conversation's counter
 * row; messages of conversations whose history is not numbered yet (counter NULL) get NULL and
 * are numbered by the backfill (0007), which takes the same row lock first.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { SchemaManifest } from '../../src/checks/manifest.js';
import {
  DEFAULT_NAME,
  isAdopted,
  RENUMBER_NEW_MESSAGES_SQL,
  SEQUENCE_STATE_NAME,
} from '../../src/families/sequence/adopt.js';
import { restoreOriginalSql } from '../../src/migrate/adopt.js';
import type { MigrationContext } from '../../src/migrate/context.js';
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
 * BEFORE INSERT (and BEFORE UPDATE that moves a message to another conversation): the next
 * number of the conversation, always assigned (a number supplied by the caller is overwritten,
 * like GENERATED ALWAYS).
 *
 * The counter UPDATE locks the conversation row until commit: concurrent writers of one
 * conversation queue on it and, under READ COMMITTED, each re-reads the row after the wait, so
 * no two get the same number; a rollback undoes its increment, so no gap either. The price is
 * that one conversation's writers serialize (PERF-NOTES: 1.14x at 8 clients). Rows of several
 * conversations in one statement lock them in row order: such statements must list their rows
 * by conversation_id, or two of them can deadlock (PostgreSQL aborts one with 40P01; nothing is
 * numbered twice). A row trigger cannot sort the caller's rows; see the README.
 *
 * Under REPEATABLE READ / SERIALIZABLE the UPDATE fails with 40001 ("could not serialize access
 * due to concurrent update") when another transaction numbered a message of the conversation
 * after this transaction's snapshot: the application retries, as for any 40001. Never a
 * duplicate (and the unique index of 0008 backs that up).
 *
 * A re-sent message (an id that already exists in the same conversation, e.g. INSERT ... ON
 * CONFLICT (id) DO NOTHING) burns no number: checked after taking the lock, so a concurrent
 * insert of the same id has committed by then; the increment is given back and the row carries
 * the existing number (it is skipped, or becomes the DO UPDATE's EXCLUDED row). A conflict on
 * any other unique index does use up a number: a gap, which deletes also make.
 *
 * An adopted column (src/families/sequence/adopt.ts) keeps, while the conversation is not counted
 * yet, the global number its default gave: the application reads the number back after its insert
 * and must not get NULL. The backfill renumbers those with the rest of the conversation. The
 * to_regclass() lookup runs only on that path (counter NULL), i.e. only while `up` runs.
 */
export const ASSIGN_SEQUENCE_BODY = `
DECLARE
  taken bigint;
  existing bigint;
BEGIN
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

/** BEFORE INSERT OR UPDATE OF content: what Nova's generated column computed, without the rewrite. */
export const CONTENT_TSV_BODY = `
BEGIN
  NEW.content_tsv := to_tsvector('english'::regconfig, coalesce(NEW.content, ''));
  RETURN NEW;
END
`;

const FUNCTIONS: PlpgsqlFunction[] = [
  { name: 'assign_message_sequence', body: ASSIGN_SEQUENCE_BODY },
  { name: 'message_content_tsv', body: CONTENT_TSV_BODY },
];

const TRIGGERS: TriggerDef[] = [
  {
    name: 'set_message_sequence',
    table: 'messages',
    timing: 'BEFORE',
    level: 'ROW',
    events: ['INSERT'],
    function: 'assign_message_sequence',
    clause: 'BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION assign_message_sequence()',
  },
  {
    name: 'set_message_sequence_on_move',
    table: 'messages',
    timing: 'BEFORE',
    level: 'ROW',
    events: ['UPDATE'],
    function: 'assign_message_sequence',
    clause: `BEFORE UPDATE OF conversation_id ON messages FOR EACH ROW
WHEN (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id)
EXECUTE FUNCTION assign_message_sequence()`,
  },
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
];

export const installs: SchemaManifest = manifestOf(FUNCTIONS, TRIGGERS);

export async function up(pgm: MigrationBuilder): Promise<void> {
  for (const f of FUNCTIONS) pgm.sql(createFunctionSql(f));
  for (const t of TRIGGERS) pgm.sql(createTriggerSql(t));
}

/**
 * Triggers before the functions they call; the columns go only in 0001's down, after both. An
 * adopted column gets its default and its sequence's state back in the same transaction that
 * drops the trigger (ACCESS EXCLUSIVE on messages from the DROP TRIGGER: no insert goes unnumbered
 * in between), and the messages the trigger numbered get global numbers (see adopt.ts); that
 * UPDATE runs with the application's triggers off when the engine allows it, like the backfill.
 */
export async function down(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  for (const t of [...TRIGGERS].reverse()) pgm.sql(dropTriggerSql(t));
  for (const f of [...FUNCTIONS].reverse()) pgm.sql(dropFunctionSql(f));
  if (!(await isAdopted(pgm))) return;
  pgm.sql(restoreOriginalSql('sequence', 'sql', DEFAULT_NAME));
  pgm.sql(restoreOriginalSql('sequence', 'sql', SEQUENCE_STATE_NAME));
  if (ctx.appTriggers === 'replica') pgm.sql('SET LOCAL session_replication_role = replica');
  pgm.sql(RENUMBER_NEW_MESSAGES_SQL);
  if (ctx.appTriggers === 'replica') pgm.sql('SET LOCAL session_replication_role = origin');
}

/**
 * The preflight's part for the conversation columns 0002 would add that already exist: adopted
 * (adoptCounters.ts) or refused, one line per incompatibility. Who writes a column decides, and
 * the catalog can only tell when an application trigger does; otherwise config columnWriters
 * must say.
 */
import type pg from 'pg';
import type { PreflightOptions, PreflightResult } from '../types.js';
import { SAVED_TABLE } from './adoptCounters.js';
import type { ColumnFacts } from './preflight.js';

/**
 * Conversation columns dbops adopts when they exist (adoptCounters.ts) and what goes wrong if
 * the application also writes one: the catalog cannot tell, so config columnWriters must say.
 */
const ADOPTABLE: [column: string, type: string, ifAppWrites: string][] = [
  [
    'member_count',
    'integer',
    "dbops' triggers count every join and leave; the application counting them too (Nova's " +
      'messaging service writes member_count when it creates a group and decrements it on leave) ' +
      'would count each one twice',
  ],
  [
    'last_message_id',
    'uuid',
    "dbops' triggers set it on every message; the application writing it too would race them",
  ],
  [
    'last_message_at',
    'timestamp with time zone',
    "dbops' triggers set it on every message; the application writing it too would race them",
  ],
];

export const ADOPTABLE_COLUMNS = ADOPTABLE.map(([c]) => c);

/** Problems and plan notes for the existing adoptable columns among `facts` ("table.column" keys). */
export async function conversationColumnFindings(
  client: pg.ClientBase,
  schema: string,
  facts: Map<string, ColumnFacts>,
  options: PreflightOptions,
): Promise<PreflightResult> {
  const problems: string[] = [];
  const notes: string[] = [];
  const writers = await triggerWriters(client, schema, ADOPTABLE_COLUMNS);
  for (const [column, type, ifAppWrites] of ADOPTABLE) {
    const fact = facts.get(`conversations.${column}`);
    if (!fact) continue;
    const found = adoptionProblems(schema, fact, type, ifAppWrites, {
      declared: options.columnWriters[`conversations.${column}`],
      triggers: writers.get(column) ?? [],
    });
    problems.push(...found);
    if (found.length === 0)
      notes.push(
        `adopt ${schema}.conversations.${column} (columnWriters: "dbops"): its values are saved in ` +
          `${SAVED_TABLE} and overwritten by the computed ones; down puts every saved value and the ` +
          "column's default back (conversations created meanwhile keep the computed value)",
      );
  }
  return { problems, notes };
}

/**
 * Why an existing conversations column cannot be adopted (empty: it can). Who writes it decides:
 * a trigger of the application's that names it (the catalog tells), else the operator's
 * declaration in config columnWriters.
 */
function adoptionProblems(
  schema: string,
  col: ColumnFacts,
  type: string,
  ifAppWrites: string,
  writer: { declared: 'app' | 'dbops' | undefined; triggers: string[] },
): string[] {
  const name = `column ${schema}.conversations.${col.column}`;
  const key = `"conversations.${col.column}"`;
  const problems: string[] = [];
  if (col.type !== type)
    problems.push(`${name} already exists as ${col.type}; dbops adopts only ${type}`);
  if (col.identity !== '' || col.generated !== '')
    problems.push(
      `${name} already exists as an identity or generated column; dbops adopts only a plain one`,
    );
  if (writer.triggers.length > 0)
    problems.push(
      `${name} already exists and the application's trigger(s) ${writer.triggers.join(', ')} write it: ${ifAppWrites}. dbops cannot carry a column the application maintains`,
    );
  else if (writer.declared === 'app')
    problems.push(
      `${name} already exists and is written by the application (config columnWriters ${key}: "app"): ${ifAppWrites}. dbops cannot carry a column the application maintains; once the application no longer writes it, set ${key}: "dbops" and dbops adopts it`,
    );
  else if (writer.declared === undefined)
    problems.push(
      `${name} already exists and the catalog cannot tell who writes it: if the application does, ${ifAppWrites}. Say who does in dbops.config.json: columnWriters {${key}: "dbops"} if nothing but dbops will write it from now on (adopted: its values saved and put back by down), or ${key}: "app" if the application maintains it (then dbops refuses)`,
    );
  return problems;
}

/** column -> the non-internal triggers in `schema` whose function's source names that column. */
async function triggerWriters(
  client: pg.ClientBase,
  schema: string,
  columns: string[],
): Promise<Map<string, string[]>> {
  const { rows } = await client.query<{ column: string; trigger: string }>(
    `SELECT c.col AS column, format('%s on %s (%s)', t.tgname, t.tgrelid::regclass, p.oid::regproc) AS trigger
       FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
       JOIN pg_namespace n ON n.oid = r.relnamespace AND n.nspname = $1
       JOIN pg_proc p ON p.oid = t.tgfoid
       JOIN unnest($2::text[]) AS c(col) ON p.prosrc ~* ('\\m' || c.col || '\\M')
      WHERE NOT t.tgisinternal ORDER BY 1, 2`,
    [schema, columns],
  );
  const found = new Map<string, string[]>();
  for (const r of rows) found.set(r.column, [...(found.get(r.column) ?? []), r.trigger]);
  return found;
}

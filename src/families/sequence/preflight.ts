import type pg from 'pg';
import { quoteQualified } from '../../db/ident.js';
import type { PreflightOptions, PreflightResult } from '../types.js';
import { SAVED_TABLE } from './adoptCounters.js';

/** Columns the migrations compare, join or copy, with the type they assume. */
const EXPECTED_TYPES: [table: string, column: string, type: string][] = [
  ['conversations', 'id', 'uuid'],
  ['conversation_members', 'conversation_id', 'uuid'],
  ['messages', 'id', 'uuid'],
  ['messages', 'conversation_id', 'uuid'],
  ['messages', 'created_at', 'timestamp with time zone'],
  ['messages', 'content', 'text'],
];

/**
 * Columns 0001/0002 add that dbops cannot take over when they exist, and why: its triggers and
 * backfill would write them next to whatever writes them today.
 */
const NOT_ADOPTED: [table: string, column: string, why: string][] = [
  [
    'messages',
    'content_tsv',
    "dbops keeps content_tsv with a trigger; an existing one (Nova's messaging service: a STORED " +
      'generated column) cannot be written by it, and converting it would rewrite the table',
  ],
  [
    'conversations',
    'last_sequence_number',
    "dbops' trigger numbers messages from it; an existing counter is written by whatever numbers " +
      'messages today, and the two would skip or repeat numbers',
  ],
];

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

interface ColumnFacts {
  table: string;
  column: string;
  type: string;
  identity: string;
  generated: string;
  default_expr: string | null;
  owned_sequence: string | null;
}

const COLUMNS_SQL = `
SELECT w.t AS table, w.c AS column, format_type(a.atttypid, a.atttypmod) AS type,
       a.attidentity AS identity, a.attgenerated AS generated,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       pg_get_serial_sequence(format('%I.%I', $1::text, w.t), w.c) AS owned_sequence
  FROM unnest($2::text[], $3::text[]) AS w(t, c)
  JOIN pg_attribute a ON a.attrelid = to_regclass(format('%I.%I', $1::text, w.t))
                     AND a.attname = w.c AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum`;

/** Unique indexes on messages that hold sequence_number without conversation_id (global keys). */
const GLOBAL_UNIQUE_SQL = `
SELECT i.indexrelid::regclass::text AS name FROM pg_index i
 WHERE i.indrelid = to_regclass(format('%I.messages', $1::text)) AND i.indisunique
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid
                AND a.attnum = ANY (i.indkey) AND a.attname = 'sequence_number')
   AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid
                    AND a.attnum = ANY (i.indkey) AND a.attname = 'conversation_id')`;

/** Why an existing messages.sequence_number cannot be converted in place (empty: it can). */
function sequenceNumberProblems(schema: string, col: ColumnFacts, globalKeys: string[]): string[] {
  const name = `column ${schema}.messages.sequence_number`;
  const problems: string[] = [];
  if (col.type !== 'bigint') problems.push(`${name} is ${col.type}, expected bigint`);
  if (col.identity !== '' || col.generated !== '')
    problems.push(`${name} is an identity or generated column; dbops converts only a serial one`);
  else if (
    col.owned_sequence === null ||
    col.default_expr === null ||
    !col.default_expr.startsWith('nextval(')
  )
    problems.push(
      `${name} has no DEFAULT nextval() of a sequence it owns (default: ${col.default_expr ?? 'none'}); ` +
        'dbops adopts only a serial column, whose sequence it can hand the numbering back to on down',
    );
  for (const index of globalKeys)
    problems.push(
      `unique index ${index} keys messages.sequence_number without conversation_id; ` +
        'per-conversation numbers repeat across conversations and would violate it',
    );
  return problems;
}

/**
 * Every problem of the base schema in one round, and the plan notes of what will be adopted.
 * Tolerates absent tables (the engine reports those itself).
 */
export async function sequencePreflight(
  client: pg.ClientBase,
  schema: string,
  options: PreflightOptions,
): Promise<PreflightResult> {
  const wanted: [string, string][] = [
    ...EXPECTED_TYPES.map(([t, c]): [string, string] => [t, c]),
    ['messages', 'sequence_number'],
    ...NOT_ADOPTED.map(([t, c]): [string, string] => [t, c]),
    ...ADOPTABLE.map(([c]): [string, string] => ['conversations', c]),
  ];
  const { rows } = await client.query<ColumnFacts>(COLUMNS_SQL, [
    schema,
    wanted.map((w) => w[0]),
    wanted.map((w) => w[1]),
  ]);
  const facts = new Map(rows.map((r) => [`${r.table}.${r.column}`, r]));
  const problems: string[] = [];
  const notes: string[] = [];
  for (const [table, column, type] of EXPECTED_TYPES) {
    const actual = facts.get(`${table}.${column}`)?.type;
    if (actual !== undefined && actual !== type)
      problems.push(`column ${schema}.${table}.${column} is ${actual}, expected ${type}`);
  }
  const seq = facts.get('messages.sequence_number');
  if (seq) {
    const globalKeys = (await client.query<{ name: string }>(GLOBAL_UNIQUE_SQL, [schema])).rows;
    const found = sequenceNumberProblems(
      schema,
      seq,
      globalKeys.map((k) => k.name),
    );
    problems.push(...found);
    if (found.length === 0)
      notes.push(
        `adopt ${schema}.messages.sequence_number (global serial, default ${seq.default_expr}): ` +
          'renumbered per conversation in place, each original saved in dbops.sequence_original_numbers; ' +
          'the default and the sequence state are saved in dbops.adopted; down puts the original ' +
          'numbers, the default and the sequence back (messages written meanwhile get new global numbers)',
      );
  }
  for (const [table, column, why] of NOT_ADOPTED)
    if (facts.has(`${table}.${column}`))
      problems.push(
        `column ${schema}.${table}.${column} already exists and is not adopted: ${why}`,
      );
  const writers = await triggerWriters(
    client,
    schema,
    ADOPTABLE.map(([c]) => c),
  );
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
  const counters = await client.query(
    'SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped',
    [quoteQualified(schema, 'conversation_counters'), 'last_seq'],
  );
  if (counters.rows.length > 0)
    problems.push(
      `table ${schema}.conversation_counters(last_seq) exists: the application numbers messages per ` +
        'conversation itself from it (its insert takes last_seq + 1 and writes it into ' +
        "messages.sequence_number, which then already holds per-conversation numbers); dbops' " +
        'trigger would number them again from its own counter and the two would disagree. dbops ' +
        'cannot carry numbering the application does itself',
    );
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

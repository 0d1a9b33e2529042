import type pg from 'pg';
import { quoteQualified } from '../../db/ident.js';
import type { PreflightOptions, PreflightResult } from '../types.js';
import { duplicateIndexesSql, identicalSql } from './adoptIdentical.js';
import { ADOPTABLE_COLUMNS, conversationColumnFindings } from './preflightCounters.js';
import { nameCollisions } from './preflightNames.js';

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

export interface ColumnFacts {
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

/**
 * Unique indexes (and the indexes of unique constraints) on messages that hold sequence_number;
 * `global` when they do not hold conversation_id too.
 */
const UNIQUE_SQL = `
SELECT i.indexrelid::regclass::text AS name, c.relname AS relname,
       NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid
                    AND a.attnum = ANY (i.indkey) AND a.attname = 'conversation_id') AS global
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = to_regclass(format('%I.messages', $1::text)) AND i.indisunique
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid
                AND a.attnum = ANY (i.indkey) AND a.attname = 'sequence_number')
 ORDER BY 1`;

interface UniqueKey {
  name: string;
  relname: string;
  global: boolean;
}

/** Why an existing messages.sequence_number cannot be converted in place (empty: it can). */
function sequenceNumberProblems(schema: string, col: ColumnFacts, keys: UniqueKey[]): string[] {
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
  for (const key of keys)
    problems.push(
      key.global
        ? `unique index ${key.name} keys messages.sequence_number without conversation_id; ` +
            'per-conversation numbers repeat across conversations and would violate it'
        : `unique index ${key.name} keys messages (conversation_id, sequence_number): dbops ` +
            "renumbers each conversation's messages in place (and down puts the global numbers " +
            'back), and a unique index is checked row by row, so a number not rewritten yet ' +
            'collides with a new one and the backfill fails halfway; drop it before up (or the ' +
            'constraint it belongs to): 0008 builds uq_messages_conversation_sequence, the same ' +
            'index, after the numbering, and down drops that one',
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
    ...ADOPTABLE_COLUMNS.map((c): [string, string] => ['conversations', c]),
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
  /** Names already refused or kept here, which nameCollisions must not refuse again. */
  const named: string[] = [];
  if (seq) {
    const keys = (await client.query<UniqueKey>(UNIQUE_SQL, [schema])).rows;
    named.push(...keys.map((k) => k.relname));
    const found = sequenceNumberProblems(schema, seq, keys);
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
  const identical = await client.query<{ kind: string; object: string; definition: string }>(
    identicalSql('$1'),
    [schema],
  );
  for (const k of identical.rows) {
    named.push(k.object);
    notes.push(
      `keep ${k.kind === 'kept index' ? 'index' : 'constraint'} ${schema}.${k.object} (${k.definition}): ` +
        "identical to the family's, so it is not built again; recorded in dbops.adopted, left " +
        'in place by down',
    );
  }
  problems.push(...(await nameCollisions(client, schema, named)));
  const duplicates = await client.query<{ index: string; family: string }>(duplicateIndexesSql(), [
    schema,
  ]);
  for (const d of duplicates.rows)
    if (!named.includes(d.family))
      notes.push(
        `index ${d.index} is identical to the family's ${d.family}: ` +
          '0008 builds that one beside yours (a second copy). To have dbops keep yours instead ' +
          `(and leave it on down), rename it before up: ALTER INDEX ${d.index} ` +
          `RENAME TO ${d.family}`,
      );
  const adoption = await conversationColumnFindings(client, schema, facts, options);
  problems.push(...adoption.problems);
  notes.push(...adoption.notes);
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

import type pg from 'pg';
import { migrationSourcesDir, migrationsDir } from '../../paths.js';
import type { FamilyDefinition } from '../types.js';
import { sequenceNumbersTarget } from './resyncNumbers.js';
import { conversationStatsTarget } from './resyncStats.js';

/** Columns the migrations compare, join or copy, with the type they assume. */
const EXPECTED_TYPES: [table: string, column: string, type: string][] = [
  ['conversations', 'id', 'uuid'],
  ['conversation_members', 'conversation_id', 'uuid'],
  ['messages', 'id', 'uuid'],
  ['messages', 'conversation_id', 'uuid'],
  ['messages', 'created_at', 'timestamp with time zone'],
  ['messages', 'content', 'text'],
];

/** Columns 0001 adds: if one exists already (Nova's own 060 migration?), dbops must not adopt it. */
const ADDED_COLUMNS: [table: string, column: string][] = [
  ['messages', 'sequence_number'],
  ['messages', 'content_tsv'],
  ['conversations', 'last_sequence_number'],
  ['conversations', 'member_count'],
  ['conversations', 'last_message_id'],
  ['conversations', 'last_message_at'],
];

async function findShapeProblems(client: pg.ClientBase, schema: string): Promise<string[]> {
  const wanted = [...EXPECTED_TYPES.map(([t, c]) => [t, c]), ...ADDED_COLUMNS];
  const { rows } = await client.query<{ table: string; column: string; type: string }>(
    `SELECT w.t AS table, w.c AS column, format_type(a.atttypid, a.atttypmod) AS type
       FROM unnest($2::text[], $3::text[]) AS w(t, c)
       JOIN pg_attribute a ON a.attrelid = to_regclass(format('%I.%I', $1::text, w.t))
                          AND a.attname = w.c AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, wanted.map((w) => w[0]), wanted.map((w) => w[1])],
  );
  const typeOf = new Map(rows.map((r) => [`${r.table}.${r.column}`, r.type]));
  const problems: string[] = [];
  for (const [table, column, type] of EXPECTED_TYPES) {
    const actual = typeOf.get(`${table}.${column}`);
    if (actual !== undefined && actual !== type)
      problems.push(`column ${schema}.${table}.${column} is ${actual}, expected ${type}`);
  }
  for (const [table, column] of ADDED_COLUMNS) {
    if (typeOf.has(`${table}.${column}`))
      problems.push(
        `column ${schema}.${table}.${column} already exists (left by Nova's own 060 migration?); ` +
          'dbops adds it itself and will not adopt a column it did not create: drop it and the triggers that use it first',
      );
  }
  return problems;
}

/** Nova's per-conversation message sequence numbers and conversation counters. */
export const sequenceFamily: FamilyDefinition = {
  name: 'sequence',
  title: "Nova's messages.sequence_number and conversation counters",
  migrationsDir: migrationsDir('sequence'),
  sourcesDir: migrationSourcesDir('sequence'),
  baseTables: [
    { table: 'conversations', columns: ['id'] },
    { table: 'conversation_members', columns: ['id', 'conversation_id'] },
    { table: 'messages', columns: ['id', 'conversation_id', 'created_at', 'content'] },
  ],
  preflight: findShapeProblems,
  resyncTargets: [conversationStatsTarget, sequenceNumbersTarget],
  loadDemo: () => import('./demo.js').then((m) => m.sequenceDemo),
};

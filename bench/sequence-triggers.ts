/**
 * Where a send's time goes in the sequence family's insert triggers (issue 21 item 5), in two
 * parts, on one throwaway database (Nova's base schema, `messages` over messages/50
 * conversations, the family migrated):
 *
 * 1. EXPLAIN (ANALYZE) of sends with each part of the triggers installed as its own trigger, so
 *    that EXPLAIN prints its time: an empty PL/pgSQL trigger (the call), the counter
 *    UPDATE ... RETURNING, the re-sent-id probe, to_tsvector, 0005's last_message row trigger.
 *    One writer and, with `writers` > 1, one send explained while the others send.
 * 2. Backend CPU (utime + stime of each writer's backend, /proc) and wall time of the same sends
 *    under whole trigger configurations, alternated round by round (a CHECKPOINT before each),
 *    as ratios of medians against Nova's insert (content_tsv computed in the statement, as its
 *    generated column does) and the bare insert. CPU is the steadier figure on a shared machine;
 *    with several writers the wall time shows the waits on conversation row locks.
 *
 *   npm run build && node dist/bench/sequence-triggers.js [messages=200000] [rows/statement=100]
 *                                                          [writers=1] [rounds=7]
 *
 * Needs /proc (Linux) and the server on the same machine for the CPU figures.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type pg from 'pg';
import { ASSIGN_SEQUENCE_BODY } from '../migrations/sequence/0003_message_sequence.js';
import { ADVANCE_LAST_MESSAGE_BODY } from '../migrations/sequence/0005_last_message.js';
import {
  ADVANCE_LAST_MESSAGE_STATEMENT_BODY,
  ASSIGN_SEQUENCE_AND_TSV_BODY,
} from '../migrations/sequence/0010_cheaper_insert_triggers.js';
import { novaBaseSchemaSql, seedNova } from '../src/families/sequence/fixture.js';
import { dbopsOrThrow } from './lib/cli.js';
import { createBenchDatabase } from './lib/db.js';
import { NOVA_SEND_SQL, SEND_SQL } from './ops/sequence/baselines.js';

const messages = Number(process.argv[2] ?? 200_000);
const batch = Number(process.argv[3] ?? 100);
const writers = Number(process.argv[4] ?? 1);
const rounds = Number(process.argv[5] ?? 7);
const statements = batch >= 1000 ? 16 : 120;

/** The family's insert triggers on messages (0010 as installed) and what this script adds. */
const FAMILY = ['set_message_sequence', 'update_last_message_on_insert'];
const fn = (name: string, body: string) =>
  `CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $fn$${body}$fn$`;
const FUNCTIONS = [
  fn('bench_empty', 'BEGIN RETURN NEW; END'),
  fn(
    'bench_counter',
    `BEGIN
  UPDATE conversations SET last_sequence_number = last_sequence_number + 1
   WHERE id = NEW.conversation_id RETURNING last_sequence_number INTO NEW.sequence_number;
  RETURN NEW;
END`,
  ),
  fn(
    'bench_probe',
    `DECLARE existing bigint;
BEGIN
  SELECT m.sequence_number INTO existing FROM messages m
   WHERE m.id = NEW.id AND m.conversation_id = NEW.conversation_id;
  RETURN NEW;
END`,
  ),
  fn(
    'bench_tsv',
    `BEGIN
  NEW.content_tsv := to_tsvector('english'::regconfig, coalesce(NEW.content, ''));
  RETURN NEW;
END`,
  ),
  fn('bench_numbering_0003', ASSIGN_SEQUENCE_BODY),
  fn('bench_numbering_0010', ASSIGN_SEQUENCE_AND_TSV_BODY),
  fn('bench_last_row', ADVANCE_LAST_MESSAGE_BODY),
  fn('bench_last_statement', ADVANCE_LAST_MESSAGE_STATEMENT_BODY),
];
const row = (name: string, timing: string, f: string) =>
  `CREATE TRIGGER ${name} ${timing} INSERT ON messages FOR EACH ROW EXECUTE FUNCTION ${f}()`;
const T = {
  empty: row('t1_empty', 'BEFORE', 'bench_empty'),
  counter: row('t2_counter', 'BEFORE', 'bench_counter'),
  probe: row('t3_probe', 'BEFORE', 'bench_probe'),
  tsv: row('t4_tsv', 'BEFORE', 'bench_tsv'),
  lastRow: row('t5_last_row', 'AFTER', 'bench_last_row'),
  numbering0003: row('t2_numbering', 'BEFORE', 'bench_numbering_0003'),
  numbering0010: row('t2_numbering', 'BEFORE', 'bench_numbering_0010'),
  lastStatement: `CREATE TRIGGER t5_last_statement AFTER INSERT ON messages
    REFERENCING NEW TABLE AS inserted_messages FOR EACH STATEMENT
    EXECUTE FUNCTION bench_last_statement()`,
};

/** Whole configurations: the SQL each send runs and the triggers on messages. */
const CONFIGS: Record<string, { sql: string; triggers: string[] }> = {
  'bare insert (no content_tsv)': { sql: SEND_SQL, triggers: [] },
  "Nova's insert (content_tsv computed)": { sql: NOVA_SEND_SQL, triggers: [] },
  'an empty row trigger': { sql: NOVA_SEND_SQL, triggers: [T.empty] },
  'the counter UPDATE alone': { sql: NOVA_SEND_SQL, triggers: [T.counter] },
  '0003 + 0005 (before 0010)': { sql: SEND_SQL, triggers: [T.numbering0003, T.tsv, T.lastRow] },
  '0010': { sql: SEND_SQL, triggers: [T.numbering0010, T.lastStatement] },
};

const db = await createBenchDatabase('sequence_triggers');
try {
  const c = db.client;
  await c.query(novaBaseSchemaSql());
  await seedNova(c, { conversations: Math.max(20, Math.round(messages / 50)), messages });
  await c.query('VACUUM ANALYZE');
  await dbopsOrThrow(db.url, 'migrate', 'up', 'sequence');
  await c.query('VACUUM ANALYZE');
  for (const f of FUNCTIONS) await c.query(f);
  const ids = (await c.query<{ id: string }>('SELECT id::text FROM conversations')).rows.map(
    (r) => r.id,
  );
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const params = () => {
    const conversations = Array.from(
      { length: batch },
      () => ids[Math.floor(Math.random() * ids.length)]!,
    );
    clock += 1000;
    return [conversations, new Date(clock).toISOString()];
  };
  const setTriggers = async (triggers: string[]) => {
    const { rows } = await c.query<{ name: string }>(
      `SELECT tgname AS name FROM pg_trigger WHERE tgrelid = 'messages'::regclass
          AND NOT tgisinternal AND (tgname = ANY ($1) OR tgname LIKE 't%\\_%')`,
      [FAMILY],
    );
    for (const t of rows) await c.query(`DROP TRIGGER ${t.name} ON messages`);
    for (const t of triggers) await c.query(t);
  };
  const connectAll = () => Promise.all(Array.from({ length: writers }, () => db.connect()));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');

  // 1. Each part as its own trigger, EXPLAIN (ANALYZE) prints its time.
  await setTriggers([T.empty, T.counter, T.probe, T.tsv, T.lastRow]);
  const others = await connectAll();
  const main = others.pop()!;
  let sending = true;
  const background = others.map(async (o) => {
    while (sending) await o.query(SEND_SQL, params());
  });
  const times = new Map<string, number[]>();
  for (let i = 0; i <= 9; i++) {
    const { rows } = await main.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${SEND_SQL}`, params());
    if (i === 0) continue; // the session's first statement pays its cold caches
    const plan = rows[0]['QUERY PLAN'][0];
    const add = (k: string, ms: number) => times.set(k, [...(times.get(k) ?? []), ms]);
    add('whole statement', plan['Execution Time']);
    for (const t of plan.Triggers ?? []) add(t['Trigger Name'], t.Time);
  }
  sending = false;
  await Promise.all(background);
  await Promise.all([main, ...others].map((x) => x.end()));
  console.log(`EXPLAIN, ${batch} rows/statement, ${writers} writer(s), load ${load()}`);
  for (const [name, ms] of times)
    console.log(`  ${name.padEnd(36)} ${((median(ms) * 1000) / batch).toFixed(1)} µs/row`);

  // 2. Whole configurations, alternated rounds: backend CPU and wall time.
  const cpuOf = (pid: number) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
  };
  const results = new Map<string, { cpu: number[]; wall: number[] }>();
  for (let r = 0; r < rounds; r++) {
    const names = Object.keys(CONFIGS);
    for (const name of r % 2 === 0 ? names : names.reverse()) {
      const config = CONFIGS[name]!;
      await setTriggers(config.triggers);
      await c.query('CHECKPOINT');
      const all = Array.from({ length: statements }, params);
      const clients: pg.Client[] = await connectAll();
      const pids = await Promise.all(
        clients.map(async (x) => (await x.query('SELECT pg_backend_pid() AS p')).rows[0].p),
      );
      const cpu0 = pids.map(cpuOf);
      const t0 = performance.now();
      await Promise.all(
        clients.map(async (x, w) => {
          for (let i = w; i < statements; i += writers)
            await x.query({ name: 'send', text: config.sql, values: all[i] });
        }),
      );
      const wall = performance.now() - t0;
      const cpu = pids.reduce((s, p, i) => s + cpuOf(p) - cpu0[i]!, 0);
      await Promise.all(clients.map((x) => x.end()));
      const got = results.get(name) ?? { cpu: [], wall: [] };
      got.cpu.push(cpu);
      got.wall.push(wall);
      results.set(name, got);
    }
  }
  const nova = results.get("Nova's insert (content_tsv computed)")!;
  const bare = results.get('bare insert (no content_tsv)')!;
  console.log(
    `\n${statements} statements of ${batch} rows, ${writers} writer(s), ${rounds} rounds, medians, load ${load()}`,
  );
  console.log(
    `  ${'configuration'.padEnd(38)} ${'CPU ms'.padStart(7)} ${'/Nova'.padStart(6)} ${'/bare'.padStart(6)} ${'wall ms'.padStart(8)} ${'/Nova'.padStart(6)} ${'/bare'.padStart(6)}`,
  );
  for (const [name, v] of results) {
    const cpu = median(v.cpu);
    const wall = median(v.wall);
    console.log(
      `  ${name.padEnd(38)} ${String(cpu).padStart(7)} ${(cpu / median(nova.cpu)).toFixed(2).padStart(6)} ${(cpu / median(bare.cpu)).toFixed(2).padStart(6)} ${wall.toFixed(0).padStart(8)} ${(wall / median(nova.wall)).toFixed(2).padStart(6)} ${(wall / median(bare.wall)).toFixed(2).padStart(6)}`,
    );
  }
} finally {
  await db.drop();
}

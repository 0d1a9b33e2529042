import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { corruptLookup } from '../helpers/lookupDrift.js';

let db: TestDatabase;
/**
 * A working directory whose config lists only lookup: without it, `check` with no family also
 * lists the checks of every other registered family as skipped, and the counts below change
 * each time a family lands.
 */
const lookupOnly = mkdtempSync(join(tmpdir(), 'dbops-'));
writeFileSync(join(lookupOnly, 'dbops.config.json'), JSON.stringify({ families: ['lookup'] }));

beforeAll(async () => {
  db = await createTestDatabase('checks');
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 5, partitions: 300, messages: 6000 });
  expect((await runCli(['migrate', 'up', 'lookup'], { url: db.url })).code).toBe(0);
});
afterAll(() => db.drop());

async function schemaSample(): Promise<{ code: number | null; count: number; sample: string[] }> {
  const r = await runCli(['check', 'schema', 'lookup', '--format', 'json'], { url: db.url });
  const item = JSON.parse(r.stdout).checks[0];
  return { code: r.code, count: item.count, sample: item.sample };
}

/** Applies `breakIt`, expects exactly `problem` from the schema check, then restores with `fix`. */
async function expectSchemaProblem(
  breakIt: string,
  problem: string | string[],
  fix: string,
): Promise<void> {
  const problems = [problem].flat();
  await db.client.query(breakIt);
  const found = await schemaSample();
  await db.client.query(fix);
  expect(found).toEqual({ code: 1, count: problems.length, sample: problems });
  expect((await schemaSample()).count).toBe(0);
}

describe('lookup.schema catches what a migration installed and someone changed', () => {
  it('a disabled trigger', () =>
    expectSchemaProblem(
      'ALTER TABLE queen.messages DISABLE TRIGGER trg_update_partition_lookup',
      'trigger trg_update_partition_lookup is disabled',
      'ALTER TABLE queen.messages ENABLE TRIGGER trg_update_partition_lookup',
    ));

  it('a dropped index', () =>
    expectSchemaProblem(
      'DROP INDEX queen.partition_lookup_partition_id_idx',
      'index partition_lookup_partition_id_idx is missing',
      'CREATE INDEX partition_lookup_partition_id_idx ON queen.partition_lookup (partition_id)',
    ));

  it('an invalid index (as a failed CREATE INDEX CONCURRENTLY leaves it)', () =>
    expectSchemaProblem(
      `UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'queen.partition_lookup_partition_id_idx'::regclass`,
      'index partition_lookup_partition_id_idx is invalid (indisvalid = false): rebuild it',
      `UPDATE pg_index SET indisvalid = true WHERE indexrelid = 'queen.partition_lookup_partition_id_idx'::regclass`,
    ));

  it('a replaced function body', async () => {
    const { rows } = await db.client.query(
      `SELECT pg_get_functiondef('queen.update_partition_lookup_trigger'::regproc) AS def`,
    );
    await expectSchemaProblem(
      `CREATE OR REPLACE FUNCTION queen.update_partition_lookup_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
      'function update_partition_lookup_trigger has a body that differs from what its migration installed',
      rows[0].def,
    );
  });

  it('a row-level trigger of the same name in place of the statement-level one', () =>
    expectSchemaProblem(
      `DROP TRIGGER trg_update_partition_lookup ON queen.messages;
       CREATE TRIGGER trg_update_partition_lookup AFTER INSERT ON queen.messages FOR EACH ROW EXECUTE FUNCTION queen.update_partition_lookup_trigger()`,
      [
        'trigger trg_update_partition_lookup is FOR EACH ROW, expected STATEMENT',
        'trigger trg_update_partition_lookup has no transition table (REFERENCING NEW TABLE)',
      ],
      `DROP TRIGGER trg_update_partition_lookup ON queen.messages;
       CREATE TRIGGER trg_update_partition_lookup AFTER INSERT ON queen.messages REFERENCING NEW TABLE AS new_messages
       FOR EACH STATEMENT EXECUTE FUNCTION queen.update_partition_lookup_trigger()`,
    ));

  it('the trigger on another table', () =>
    expectSchemaProblem(
      `DROP TRIGGER trg_update_partition_lookup ON queen.messages;
       CREATE TRIGGER trg_update_partition_lookup AFTER INSERT ON queen.partitions FOR EACH STATEMENT EXECUTE FUNCTION queen.update_partition_lookup_trigger()`,
      'trigger trg_update_partition_lookup is on partitions, expected messages',
      `DROP TRIGGER trg_update_partition_lookup ON queen.partitions;
       CREATE TRIGGER trg_update_partition_lookup AFTER INSERT ON queen.messages REFERENCING NEW TABLE AS new_messages
       FOR EACH STATEMENT EXECUTE FUNCTION queen.update_partition_lookup_trigger()`,
    ));
});

describe('report formats of a corrupted database', () => {
  beforeAll(async () => {
    await corruptLookup(db.client);
  });

  it('json: one document with the stable keys; exit 1', async () => {
    const r = await runCli(['check', 'all', '--format', 'json'], { url: db.url, cwd: lookupOnly });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual([
      'schemaVersion',
      'command',
      'status',
      'startedAt',
      'durationMs',
      'checks',
    ]);
    expect(doc).toMatchObject({ schemaVersion: 1, command: 'check all', status: 'fail' });
    for (const c of doc.checks) {
      expect(Object.keys(c)).toEqual(
        expect.arrayContaining([
          'id',
          'status',
          'family',
          'title',
          'count',
          'sample',
          'hint',
          'numbers',
          'details',
        ]),
      );
    }
  });

  it('junit: well-formed XML with one testcase per check; failures carry count, sample and hint', async () => {
    const r = await runCli(['check', 'all', '--format', 'junit'], {
      url: db.url,
      cwd: lookupOnly,
    });
    expect(r.code).toBe(1);
    expect(r.stdout.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    const tags = [...r.stdout.matchAll(/<(\/?)([a-z-]+)[^>]*?(\/?)>/g)].filter(
      (m) => m[2] !== 'xml',
    );
    const stack: string[] = [];
    for (const [, close, name, selfClose] of tags) {
      if (selfClose) continue;
      if (close) expect(stack.pop()).toBe(name);
      else stack.push(name!);
    }
    expect(stack).toEqual([]);
    expect(r.stdout.match(/<testcase /g)).toHaveLength(5);
    expect(r.stdout).toMatch(
      /<failure message="8 × partitions with messages but no lookup row" type="fail">[^<]*count: 8\nsample: [0-9a-f-]{36}, /,
    );
    expect(r.stdout).toContain('fix: dbops resync partition-lookup</failure>');
    expect(r.stdout).toContain('<system-out>WARN ');
    const failOnWarn = await runCli(['check', 'all', '--format', 'junit', '--fail-on', 'warn'], {
      url: db.url,
      cwd: lookupOnly,
    });
    expect(failOnWarn.stdout.match(/<failure /g)).toHaveLength(4);
  });

  it('github: ::error and ::warning lines well-formed, summary appended to GITHUB_STEP_SUMMARY', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const summary = join(mkdtempSync(join(tmpdir(), 'dbops-gh-')), 'summary.md');
    const r = await runCli(['check', 'consistency', '--format', 'github'], {
      url: db.url,
      cwd: lookupOnly,
      env: { GITHUB_STEP_SUMMARY: summary },
    });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    const commands = lines.filter((l) => l.startsWith('::'));
    expect(commands).toHaveLength(4);
    for (const line of commands)
      expect(line).toMatch(/^::(error|warning) title=dbops lookup\.[a-z-]+::[^\n\r]+$/);
    expect(commands.filter((l) => l.startsWith('::warning'))).toHaveLength(1);
    expect(lines.at(-1)).toBe('dbops check consistency: fail (4 checks)');
    expect(readFileSync(summary, 'utf8')).toContain('| fail | `lookup.missing` | 8 |');
  });

  it('table: no colour codes when stdout is not a terminal, fits 80 columns, shows the fix', async () => {
    const r = await runCli(['check', 'all'], {
      url: db.url,
      cwd: lookupOnly,
      env: { NO_COLOR: undefined },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('\u001b[');
    expect(r.stdout.split('\n')[0]).toMatch(/^FAIL check all: 3 fail, 1 warn, 1 ok \(\d+ ms\)$/);
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(r.stdout).toContain('fix: dbops resync');
  });
});

/**
 * The machine formats read by the tools that consume them: the junit output through junit2json
 * (a JUnit XML parser built on xml2js, as CI dashboards parse it), the github output through the
 * workflow-command grammar (`::name key=value,...::data`, with GitHub's escapes) and the job
 * summary file GitHub renders (`GITHUB_STEP_SUMMARY`).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, type TestCase } from 'junit2json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { CORRUPTION, corruptLookup } from '../helpers/lookupDrift.js';

let db: TestDatabase;
let keys: Awaited<ReturnType<typeof corruptLookup>>;
const work = mkdtempSync(join(tmpdir(), 'dbops-ci-'));
// Only lookup is configured: the other families' checks would otherwise be listed as skipped.
writeFileSync(join(work, 'dbops.config.json'), JSON.stringify({ families: ['lookup'] }));

beforeAll(async () => {
  db = await createTestDatabase('ci_reports');
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 5, partitions: 300, messages: 3000 });
  expect((await runCli(['migrate', 'up', 'lookup'], { url: db.url })).code).toBe(0);
  keys = await corruptLookup(db.client);
});
afterAll(() => db.drop());

/** One workflow command, parsed and unescaped as the runner does. */
function parseCommand(line: string): { name: string; props: Record<string, string>; data: string } {
  const m = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
  if (!m) throw new Error(`not a workflow command: ${line}`);
  const unescapeData = (s: string) =>
    s.replaceAll('%0D', '\r').replaceAll('%0A', '\n').replaceAll('%25', '%');
  const unescapeProp = (s: string) => unescapeData(s.replaceAll('%3A', ':').replaceAll('%2C', ','));
  const props: Record<string, string> = {};
  for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    expect(eq, pair).toBeGreaterThan(0);
    props[pair.slice(0, eq)] = unescapeProp(pair.slice(eq + 1));
  }
  // Unescaped data never contains a raw CR or LF (they would end the command).
  expect(m[3]).not.toMatch(/[\r\n]/);
  return { name: m[1]!, props, data: unescapeData(m[3]!) };
}

describe('junit, as a JUnit XML parser reads it', () => {
  it('one suite per family, one testcase per check; failures carry count, sample and fix', async () => {
    const r = await runCli(['check', 'all', '--format', 'junit'], { url: db.url, cwd: work });
    expect(r.code).toBe(1);
    const doc = await parse(r.stdout);
    expect(doc).toMatchObject({ tests: 5, failures: 3, errors: 0 });
    const suites = (doc as { testsuite?: { name?: string; testcase?: TestCase[] }[] }).testsuite!;
    expect(suites.map((s) => s.name)).toEqual(['lookup']);
    const cases = new Map(suites[0]!.testcase!.map((c) => [c.name!, c]));
    expect([...cases.keys()].sort()).toEqual([
      'lookup.ahead',
      'lookup.behind',
      'lookup.missing',
      'lookup.orphaned',
      'lookup.schema',
    ]);
    for (const kind of ['missing', 'behind', 'ahead'] as const) {
      const failure = cases.get(`lookup.${kind}`)!.failure![0]!;
      expect(failure.type).toBe('fail');
      expect(failure.message).toMatch(new RegExp(`^${CORRUPTION[kind]} × `));
      expect(failure.inner).toContain(`count: ${CORRUPTION[kind]}`);
      expect(failure.inner).toContain(`sample: ${keys[kind].slice(0, 5).join(', ')}`);
      expect(failure.inner).toContain('fix: dbops resync partition-lookup');
    }
    // A warning passes (its text in system-out) unless --fail-on warn.
    const orphaned = cases.get('lookup.orphaned')!;
    expect(orphaned.failure).toBeUndefined();
    expect(orphaned['system-out']?.[0]).toMatch(/^WARN /);
    expect(cases.get('lookup.schema')!.failure).toBeUndefined();
    const strict = await parse(
      (
        await runCli(['check', 'all', '--format', 'junit', '--fail-on', 'warn'], {
          url: db.url,
          cwd: work,
        })
      ).stdout,
    );
    expect(strict).toMatchObject({ tests: 5, failures: 4 });
  });

  it('a named family that is not applied is a failure of type skipped; nothing checked fails too', async () => {
    const r = await runCli(['check', 'all', 'sequence', '--format', 'junit'], {
      url: db.url,
      cwd: work,
    });
    expect(r.code).toBe(1);
    const doc = (await parse(r.stdout)) as {
      failures?: number;
      testsuite?: { testcase?: TestCase[] }[];
    };
    const cases = doc.testsuite!.flatMap((s) => s.testcase ?? []);
    expect(cases.some((c) => c.failure?.[0]?.type === 'skipped')).toBe(true);
    expect(cases.map((c) => c.name)).toContain('dbops.nothing-checked');
    expect(doc.failures).toBe(cases.length);
  });
});

describe('github, as the Actions runner reads it', () => {
  it('workflow commands with escaped data and properties, and the job summary appended to GITHUB_STEP_SUMMARY', async () => {
    const summary = join(work, 'step-summary.md');
    writeFileSync(summary, '# earlier step\n');
    const r = await runCli(['check', 'all', '--format', 'github'], {
      url: db.url,
      cwd: work,
      env: { GITHUB_STEP_SUMMARY: summary },
    });
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    const commands = lines.filter((l) => l.startsWith('::')).map(parseCommand);
    expect(commands.map((c) => [c.name, c.props.title])).toEqual([
      ['error', 'dbops lookup.ahead'],
      ['error', 'dbops lookup.behind'],
      ['error', 'dbops lookup.missing'],
      ['warning', 'dbops lookup.orphaned'],
    ]);
    const missing = commands.find((c) => c.props.title === 'dbops lookup.missing')!;
    expect(missing.data.split('\n')).toEqual([
      `${CORRUPTION.missing} × partitions with messages but no lookup row`,
      `sample: ${keys.missing.slice(0, 5).join(', ')}`,
      'fix: dbops resync partition-lookup',
    ]);
    expect(lines.at(-1)).toBe('dbops check all: fail (5 checks)');
    // Appended (earlier steps' summaries stay), a Markdown table GitHub renders.
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('# earlier step\n### dbops check all: fail\n')).toBe(true);
    expect(md).toContain('| status | check | count | sample | fix |');
    expect(md).toContain(
      `| fail | \`lookup.missing\` | ${CORRUPTION.missing} | ${keys.missing.slice(0, 5).join(', ')} | dbops resync partition-lookup |`,
    );
    expect(md).toContain('| ok | `lookup.schema` | 0 |');
  });

  it('without GITHUB_STEP_SUMMARY nothing is written besides stdout', async () => {
    const r = await runCli(['check', 'all', '--format', 'github'], {
      url: db.url,
      cwd: work,
      env: { GITHUB_STEP_SUMMARY: undefined },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('### dbops');
  });
});

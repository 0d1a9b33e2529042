/**
 * `--format html` rendered by a real browser: headless Chromium loads the report (with every
 * network request routed to a dead proxy), dumps its DOM and takes a screenshot. Skipped, with a
 * notice saying why, where Chromium cannot be installed.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queenBaseSchemaSql, seedQueen } from '../../src/families/lookup/fixture.js';
import { createSeededSemantik } from '../../src/families/partition/fixture.js';
import { dumpDom, findChromium, screenshot } from '../helpers/chromium.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { corruptLookup } from '../helpers/lookupDrift.js';

let db: TestDatabase;
let dir: string;
const chromium = findChromium();
if ('missing' in chromium)
  process.stderr.write(`dbops html report test: Chromium checks SKIPPED: ${chromium.missing}\n`);

async function html(args: string[], expectedCode: number): Promise<{ file: string; text: string }> {
  const r = await runCli([...args, '--format', 'html'], { url: db.url });
  expect(r.code, r.stderr).toBe(expectedCode);
  const file = join(dir, `${args.join('-')}.html`);
  await writeFile(file, r.stdout);
  return { file, text: r.stdout };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dbops-html-'));
  db = await createTestDatabase('html_report');
  await db.client.query(queenBaseSchemaSql());
  await seedQueen(db.client, { queues: 5, partitions: 300, messages: 3000 });
  await createSeededSemantik(db.client, { collections: 400, chunks: 20_000 });
  for (const family of ['lookup', 'partition']) {
    const up = await runCli(['migrate', 'up', family], { url: db.url });
    expect(up.code, up.stderr).toBe(0);
  }
  await corruptLookup(db.client);
});
afterAll(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('--format html', () => {
  it('check all: one self-contained page with the summary, every check, and the skew chart', async () => {
    const { file, text } = await html(['check', 'all', 'lookup', 'partition'], 1);
    // Self-contained: no script, stylesheet, image or font is fetched.
    expect(text).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import/i);
    // The only URL is the SVG namespace (a name, never fetched).
    expect(new Set(text.match(/https?:\/\/[^"' ]+/g))).toEqual(
      new Set(['http://www.w3.org/2000/svg']),
    );
    expect(text).toContain('<svg');
    if ('missing' in chromium) return;

    const dom = await dumpDom(chromium.bin, file);
    const visible = dom.replace(/<style>[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ' ');
    expect(visible).toContain('dbops check all');
    expect(visible).toContain('exit code 1');
    for (const id of [
      'lookup.schema',
      'lookup.missing',
      'lookup.behind',
      'lookup.ahead',
      'lookup.orphaned',
      'partition.schema',
      'partition.misrouted',
      'partition.duplicates',
      'partition.chunking-stats',
      'partition.skew',
    ])
      expect(visible, id).toContain(id);
    expect(visible).toContain('dbops resync partition-lookup'); // the fix of a finding
    expect(visible).toMatch(/Rows per partition of\s+chunks/);
    expect((dom.match(/<rect class="bar /g) ?? []).length).toBe(100);
    // Hot and cold partitions are marked in the chart and named in the legend.
    const hot = dom.match(/<rect class="bar hot"/g)?.length ?? 0;
    const cold = dom.match(/<rect class="bar cold"/g)?.length ?? 0;
    expect(hot + cold).toBeGreaterThan(0);
    expect(visible).toMatch(/hot \(H, above avg x hot\): \d+: chunks_part_\d\d/);

    const png = join(dir, 'health-report.png');
    await screenshot(chromium.bin, file, png);
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect((await stat(png)).size).toBeGreaterThan(20_000);
    // DBOPS_SCREENSHOT_DIR=docs/img refreshes the README's picture.
    const out = process.env.DBOPS_SCREENSHOT_DIR;
    if (out) {
      await mkdir(out, { recursive: true });
      await copyFile(png, join(out, 'health-report.png'));
    }
  });

  it('migrate status: the timeline of applied migrations', async () => {
    const { file, text } = await html(['migrate', 'status', 'lookup', 'partition'], 0);
    expect(text).toContain('Timeline of applied migrations');
    if ('missing' in chromium) return;
    const dom = await dumpDom(chromium.bin, file);
    expect((dom.match(/<circle class="migration"/g) ?? []).length).toBe(9); // 3 lookup + 6 partition
    expect(dom).toContain('lookup/0001_partition_lookup');
    expect(dom).toContain('partition/0005_monitoring');
    const png = join(dir, 'status.png');
    await screenshot(chromium.bin, file, png, 1200, 900);
    expect((await stat(png)).size).toBeGreaterThan(10_000);
    if (process.env.DBOPS_SCREENSHOT_DIR)
      await copyFile(png, join(process.env.DBOPS_SCREENSHOT_DIR, 'migrate-status.png'));
  });

  it('resync --dry-run renders its targets and counts', async () => {
    const { text } = await html(['resync', 'partition-lookup', '--dry-run'], 0);
    expect(text).toContain('partition-lookup');
    expect(text).toContain('inserted');
  });
});

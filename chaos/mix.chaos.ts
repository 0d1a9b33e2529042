import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test/helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../test/helpers/db.js';
import { HARNESSES } from './families/index.js';
import { chaosConfig } from './lib/config.js';
import { leftoversSettled, nonZero } from './lib/invariants.js';
import { record } from './lib/results.js';
import { startWriters } from './lib/writers.js';

const config = chaosConfig();
const WRITERS = 4;

describe.each(HARNESSES.filter((h) => config.families.includes(h.name)))(
  'write mix: $name',
  (h) => {
    let db: TestDatabase;
    const clients: pg.Client[] = [];
    beforeAll(async () => {
      db = await createTestDatabase(`chaos_mix_${h.name}`);
      await h.setup(db);
      const up = await runCli(['migrate', 'up', h.name], { url: db.url });
      expect(up.code, up.stderr).toBe(0);
      for (let i = 0; i < WRITERS; i++) clients.push(await db.connect());
    });
    afterAll(async () => {
      for (const c of clients) await c.end().catch(() => {});
      await db?.drop();
    });

    it('the application mix with resync and check in between ends equal to the oracle, with no client error caused by dbops', async () => {
      const cli = (args: string[]) => runCli(args, { url: db.url });
      const writers = startWriters(clients, h, config.seed);
      const deadline = Date.now() + config.mixMs;
      const dbopsRuns: { command: string; code: number | null }[] = [];
      const problems: string[] = [];
      // While the writers run: resync and check, over and over. A check may find drift that only
      // a resync repairs (e.g. a lookup row naming a deleted message); it must not fail (exit 2).
      while (Date.now() < deadline) {
        for (const args of [
          ['resync', ...h.resyncTargets],
          ['check', 'consistency', h.name],
        ]) {
          const r = await cli(args);
          dbopsRuns.push({ command: args.join(' '), code: r.code });
          if (r.code === 2 || (args[0] === 'resync' && r.code !== 0))
            problems.push(`${args.join(' ')} exit ${r.code}: ${r.stderr.trim()}`);
        }
      }
      const stats = await writers.stop();
      problems.push(
        ...nonZero((await h.oracle(db.client)).always).map((p) => `before final resync: ${p}`),
      );
      const resync = await cli(['resync', ...h.resyncTargets]);
      if (resync.code !== 0) problems.push(`final resync exit ${resync.code}: ${resync.stderr}`);
      const o = await h.oracle(db.client);
      problems.push(
        ...nonZero({ ...o.always, ...o.afterResync }).map((p) => `after final resync: ${p}`),
      );
      const check = await cli(['check', 'consistency', h.name]);
      if (check.code !== 0)
        problems.push(`final check exit ${check.code}: ${check.stdout.slice(0, 2000)}`);
      problems.push(...nonZero(await leftoversSettled(db.client, h.name, 10_000)));
      problems.push(...stats.findings.map((f) => `client error: ${f}`));
      record('mixes', {
        family: h.name,
        ms: config.mixMs,
        writers: WRITERS,
        committed: stats.committed,
        rolledBack: stats.rolledBack,
        appErrors: stats.appErrors,
        findings: stats.findings.length,
        dbopsRuns: dbopsRuns.length,
        checkExits: dbopsRuns.filter((r) => r.command.startsWith('check')).map((r) => r.code),
        problems,
      });
      expect(problems).toEqual([]);
    });
  },
);

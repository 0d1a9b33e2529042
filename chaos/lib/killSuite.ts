import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.js';
import { type Cluster, startCluster } from './cluster.js';
import { chaosConfig } from './config.js';
import type { FamilyHarness } from './harness.js';
import {
  appliedNames,
  baseChecksums,
  familyCatalog,
  leftoversSettled,
  nonZero,
  originalColumns,
} from './invariants.js';
import { type KillPoint, runAndKill } from './kill.js';
import { record } from './results.js';
import { connectRetrying, startWriters } from './writers.js';

const config = chaosConfig();

interface Operation {
  label: string;
  args: string[];
  /** State the operation starts from and leaves. */
  from: 'up' | 'down';
  to: 'up' | 'down';
  /** The resync target whose data is broken before the run. */
  drift?: string;
}

/** Kill points (SIGKILL, session cut) on the test server, or restarts of a throwaway cluster. */
export type Variant = 'kill' | 'restart';

function operations(h: FamilyHarness, variant: Variant): Operation[] {
  const up: Operation = {
    label: 'migrate up',
    args: ['migrate', 'up', h.name],
    from: 'down',
    to: 'up',
  };
  // The smoke run restarts the server during the up only.
  if (variant === 'restart' && config.profile === 'smoke') return [up];
  return [
    up,
    { label: 'migrate down', args: ['migrate', 'down', h.name, '--all'], from: 'up', to: 'down' },
    ...h.resyncTargets.map((t) => ({
      label: `resync ${t}`,
      args: ['resync', t],
      from: 'up' as const,
      to: 'up' as const,
      drift: t,
    })),
  ];
}

/**
 * Kill points spread over an operation that took `ms` when run cleanly: at time offsets, when a
 * dbops backend runs a batch / a concurrent index build / the partition swap, at the start of
 * each migration (history rows), and the session terminated from the server. The smoke profile
 * keeps one of each kind.
 */
function killPoints(h: FamilyHarness, op: Operation, ms: number, migrations: number): KillPoint[] {
  const smoke = config.profile === 'smoke';
  const k = config.killsPerOperation;
  const points: KillPoint[] = Array.from({ length: k }, (_, i) => ({
    kind: 'time' as const,
    ms: Math.round(((i + 0.5) / k) * ms),
    label: `at ${Math.round(((i + 0.5) / k) * 100)}% of the clean run`,
  }));
  // The smoke run cuts the session of the up only, and kills a resync once.
  if (!smoke || op.label === 'migrate up')
    points.push({
      kind: 'terminate',
      ms: Math.round(ms * 0.6),
      label: 'session terminated at 60%',
    });
  if (smoke && op.args[0] === 'resync') return points;
  if (op.args[0] === 'resync') {
    points.push({
      kind: 'query',
      pattern: '(insert|update|delete|refresh)',
      label: 'in a repair batch',
    });
    return points;
  }
  const hooks: KillPoint[] = [
    { kind: 'query', pattern: '(insert into|update )', label: 'during a batch' },
    {
      kind: 'query',
      pattern: 'index\\s+concurrently',
      label: 'during a concurrent index build/drop',
    },
  ];
  if (h.name === 'partition')
    hooks.push({ kind: 'query', pattern: 'rename to', label: 'during the partition swap' });
  points.push(...(smoke ? hooks.slice(0, 1) : hooks));
  if (smoke) return points;
  for (let i = 1; i < migrations; i++) {
    const rows = op.to === 'up' ? i : migrations - i;
    points.push({
      kind: 'history',
      family: h.name,
      rows,
      label: `when ${rows} migrations are recorded`,
    });
  }
  return points;
}

const FAMILY_ORDER = ['lookup', 'partition', 'sequence', 'checkpoint'];

/**
 * Server restarts spread over an operation that took `ms` when run cleanly: at time offsets,
 * alternating `-m immediate` (a crash: recovery on start) and `-m fast` (sessions rolled back,
 * clean shutdown), shifted per family so that the smoke run's single point per family covers
 * both; the full run adds one restart of the other mode during a batch of each migrate, and a
 * crash during a concurrent index build.
 */
function restartPoints(h: FamilyHarness, op: Operation, ms: number): KillPoint[] {
  const k = op.args[0] === 'resync' ? 1 : config.restartsPerOperation;
  const shift = FAMILY_ORDER.indexOf(h.name);
  const points: KillPoint[] = Array.from({ length: k }, (_, i) => {
    const restart = (i + shift) % 2 === 0 ? ('immediate' as const) : ('fast' as const);
    const pct = Math.round(((i + 0.5) / k) * 100);
    return {
      kind: 'time' as const,
      ms: Math.round(((i + 0.5) / k) * ms),
      label: `restart -m ${restart} at ${pct}% of the clean run`,
      restart,
    };
  });
  // The smoke run keeps its time cost down: one restart per family, the modes alternating.
  if (op.args[0] === 'migrate' && config.profile === 'full') {
    const restart = shift % 2 === 0 ? ('fast' as const) : ('immediate' as const);
    points.push({
      kind: 'query',
      pattern: '(insert into|update )',
      label: `restart -m ${restart} during a batch`,
      restart,
    });
    points.push({
      kind: 'query',
      pattern: 'index\\s+concurrently',
      label: 'restart -m immediate during a concurrent index build/drop',
      restart: 'immediate',
    });
  }
  return points;
}

/**
 * Orders the runs so that each starts from the state the previous one left (up, down, up, ...)
 * wherever possible: a clean run to get back costs as much as the killed one.
 */
function schedule<T extends { op: Operation }>(runs: T[]): T[] {
  const left = [...runs];
  const out: T[] = [];
  let state: 'up' | 'down' = 'down';
  while (left.length > 0) {
    const i = Math.max(
      0,
      left.findIndex((r) => r.op.from === state),
    );
    const [next] = left.splice(i, 1);
    out.push(next!);
    state = next!.op.to;
  }
  return out;
}

/**
 * The kill-point suite of one family (one file per family, so that families run in parallel).
 * The `restart` variant runs on a throwaway cluster of its own and restarts the server instead
 * of killing the client; writers reconnect, as an application's pool would.
 */
export function defineKillSuite(h: FamilyHarness, variant: Variant = 'kill'): void {
  const restarts = variant === 'restart';
  const skip = !config.families.includes(h.name) || (restarts && config.restartsPerOperation === 0);
  describe.skipIf(skip)(`${restarts ? 'restart' : 'kill'} points: ${h.name}`, () => {
    let cluster: Cluster | undefined;
    let db: TestDatabase;
    let cwd: string;
    let columns: Map<string, string[]>;
    const catalogs: Record<'up' | 'down', string[]> = { up: [], down: [] };
    let allMigrations: string[] = [];
    const clients: pg.Client[] = [];

    const cli = (args: string[]) => runCli(args, { url: db.url, cwd });
    const reach = async (state: 'up' | 'down') => {
      const r = await cli(
        state === 'up' ? ['migrate', 'up', h.name] : ['migrate', 'down', h.name, '--all'],
      );
      expect(r.code, r.stderr).toBe(0);
    };

    beforeAll(async () => {
      if (restarts) cluster = await startCluster();
      db = await createTestDatabase(`chaos_${variant}_${h.name}`, cluster?.url);
      await h.setup(db);
      cwd = mkdtempSync(join(tmpdir(), 'dbops-chaos-'));
      writeFileSync(join(cwd, 'dbops.config.json'), JSON.stringify({ batchSize: 200 }));
      columns = await originalColumns(db.client, h.baseTables);
      catalogs.down = await familyCatalog(db.client, h);
      for (let i = 0; i < 2; i++) clients.push(await db.connect());
    });
    afterAll(async () => {
      for (const c of clients) await c.end().catch(() => {});
      await db?.client.end().catch(() => {});
      try {
        await db?.drop();
      } finally {
        await cluster?.stop();
      }
    });

    /** The plain rerun after a kill, and everything that must hold after it. */
    const rerunAndVerify = async (op: Operation) => {
      const before = await baseChecksums(db.client, columns);
      const t0 = Date.now();
      const rerun = await cli(op.args);
      const rerunMs = Date.now() - t0;
      const problems: string[] = [];
      if (rerun.code !== 0) {
        problems.push(`rerun exit ${rerun.code}: ${rerun.stderr.trim()}`);
        return { problems, rerunMs };
      }
      const after = await baseChecksums(db.client, columns);
      if (after.join() !== before.join()) problems.push('base rows changed by the rerun');
      const o = await h.oracle(db.client);
      problems.push(...nonZero(o.always));
      if (op.drift) problems.push(...nonZero(o.afterResync));
      problems.push(...nonZero(await leftoversSettled(db.client, h.name, 15_000)));
      const catalog = await familyCatalog(db.client, h);
      const expected = catalogs[op.to];
      if (catalog.join('\n') !== expected.join('\n')) {
        const extra = catalog.filter((l) => !expected.includes(l));
        const missing = expected.filter((l) => !catalog.includes(l));
        problems.push(
          `catalog differs from the clean run: +${extra.slice(0, 5).join(' | ')} -${missing.slice(0, 5).join(' | ')}`,
        );
      }
      const names = await appliedNames(db.client, h.name);
      if (names.join() !== (op.to === 'up' ? allMigrations : []).join())
        problems.push(`history after rerun: ${names.join(', ')}`);
      return { problems, rerunMs };
    };

    it(`every ${variant} point recovers with a plain rerun`, async () => {
      // Clean runs: the reference catalog after up, and how long each operation takes with writers.
      const durations = new Map<string, number>();
      for (const op of operations(h, variant)) {
        if (op.from === 'up') await reach('up');
        if (op.drift) await h.drift(db.client, op.drift);
        const writers = startWriters(clients, h, config.seed);
        const t0 = Date.now();
        const r = await cli(op.args);
        durations.set(op.label, Date.now() - t0);
        await writers.stop();
        expect(r.code, `${op.label}: ${r.stderr}`).toBe(0);
        if (op.to === 'up' && catalogs.up.length === 0) {
          catalogs.up = await familyCatalog(db.client, h);
          allMigrations = await appliedNames(db.client, h.name);
        }
      }
      await reach('down');
      expect(await familyCatalog(db.client, h)).toEqual(catalogs.down);

      const failures: string[] = [];
      let state: 'up' | 'down' | 'unknown' = 'down';
      const runs = operations(h, variant).flatMap((op) => {
        const ms = durations.get(op.label)!;
        const points = restarts
          ? restartPoints(h, op, ms)
          : killPoints(h, op, ms, allMigrations.length);
        return points.map((point) => ({ op, point }));
      });
      for (const { op, point } of schedule(runs)) {
        if (state !== op.from) await reach(op.from);
        if (op.drift) await h.drift(db.client, op.drift);
        const writers = startWriters(
          clients,
          h,
          config.seed + failures.length,
          restarts ? db.connect : undefined,
        );
        const restart = cluster?.restart;
        const killed = await runAndKill(op.args, { url: db.url, cwd, restart }, point, db.client);
        const mix = await writers.stop();
        if (killed.restartMs !== undefined) {
          // The watcher's session went with the server.
          await db.client.end().catch(() => {});
          db.client = await connectRetrying(db.connect);
        }
        const { problems, rerunMs } = await rerunAndVerify(op);
        state = problems.length === 0 ? op.to : 'unknown';
        problems.push(...mix.findings.map((f) => `writer: ${f}`));
        // A cut session or a restarted server is an expected failure: a clear error, not a bug.
        if (killed.result.stderr.includes('internal error'))
          problems.push(`interrupted run: ${killed.result.stderr.trim().slice(0, 300)}`);
        record(restarts ? 'restarts' : 'kills', {
          family: h.name,
          operation: op.label,
          point: point.label,
          fired: killed.fired,
          firedAtMs: killed.firedAtMs,
          killedExit: killed.result.code,
          ...(restarts && {
            mode: point.restart,
            restartMs: killed.restartMs,
            // Fired but exit 0: the run ended while pg_ctl was stopping the server.
            interrupted: killed.result.code !== 0,
            killedStderr: killed.result.stderr.trim().slice(-1500),
            writerConnectionErrors: mix.connectionErrors,
          }),
          rerunMs,
          recovered: problems.length === 0,
          writerTransactions: mix.committed,
          problems,
        });
        if (problems.length > 0)
          failures.push(
            `${h.name} ${op.label} ${restarts ? '' : 'killed '}${point.label}: ${problems.join('; ')}`,
          );
      }
      expect(failures).toEqual([]);
    });
  });
}

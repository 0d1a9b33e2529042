import { describe, expect, it } from 'vitest';
import { likePattern } from '../../src/fleet/expand.js';
import { planPhases, runFleet } from '../../src/fleet/run.js';
import { dedupeTargets, preselect, selectTargets } from '../../src/fleet/select.js';
import { fleetReport, summaryCounts } from '../../src/fleet/status.js';
import { parseTargetLines, readTargetList } from '../../src/fleet/targets.js';
import type { FleetTarget, TargetReports } from '../../src/fleet/types.js';
import { makeReport } from '../../src/report/types.js';

describe('fleet targets', () => {
  it('reads URLs and libpq-style fields, keeps * patterns, and names unnamed targets host:port/db', () => {
    const problems: string[] = [];
    const targets = readTargetList(
      [
        'postgres://u:pw@db1:5433/app',
        {
          name: 'eu',
          host: 'db2',
          port: 5432,
          user: 'a b',
          password: 'p@ss',
          database: 'tenant_*',
          families: ['lookup'],
        },
      ],
      'targets',
      problems,
    );
    expect(problems).toEqual([]);
    expect(targets[0]).toEqual({ name: 'db1:5433/app', url: 'postgres://u:pw@db1:5433/app' });
    expect(targets[1]).toMatchObject({
      name: 'eu',
      url: 'postgres://a%20b:p%40ss@db2:5432/tenant_*',
      families: ['lookup'],
    });
  });

  it('reports every problem at once', () => {
    const problems: string[] = [];
    readTargetList(
      [{ url: 'x', host: 'h' }, 42, 'postgres://h/a', 'postgres://h/a'],
      'targets',
      problems,
    );
    expect(problems).toEqual([
      'targets[0]: give either url or host, not both',
      'targets[1]: must be a URL string or an object with url or host/database',
      'targets: two targets are named "h/a"; names must be unique',
    ]);
    expect(() => parseTargetLines('postgres://h/a\n\n# c\nhttp://h/b\n')).toThrow(
      /line\[1\]: must start with postgres/,
    );
  });

  it('turns * into LIKE % and escapes LIKE metacharacters', () => {
    expect(likePattern('tenant_*')).toBe('tenant\\_%');
    expect(likePattern('a%b\\*')).toBe('a\\%b\\\\%');
  });
});

describe('--target', () => {
  const list: FleetTarget[] = [
    { name: 'eu', url: 'postgres://h/app' },
    { name: 'tenants', url: 'postgres://h/tenant_*' },
  ];
  const expanded: FleetTarget[] = [
    list[0]!,
    { name: 'tenants/tenant_1', group: 'tenants', url: 'postgres://h/tenant_1' },
    { name: 'tenants/tenant_2', group: 'tenants', url: 'postgres://h/tenant_2' },
  ];

  it('keeps pattern entries a name may refer to, then selects by name or by pattern entry', () => {
    expect(preselect(list, ['tenants/tenant_2']).map((t) => t.name)).toEqual(['tenants']);
    expect(preselect(list, ['eu']).map((t) => t.name)).toEqual(['eu']);
    expect(selectTargets(expanded, ['tenants']).map((t) => t.name)).toEqual([
      'tenants/tenant_1',
      'tenants/tenant_2',
    ]);
    expect(selectTargets(expanded, ['tenants/tenant_2', 'eu']).map((t) => t.name)).toEqual([
      'eu',
      'tenants/tenant_2',
    ]);
    expect(() => selectTargets(expanded, ['eu', 'us'])).toThrow('--target us: no such target');
  });

  it('works on a database once when a pattern lists it again', () => {
    const again = [...expanded, { name: 'x/app', group: 'x', url: 'postgres://u:p@h:5432/app' }];
    expect(dedupeTargets(again).map((t) => t.name)).toEqual([
      'eu',
      'tenants/tenant_1',
      'tenants/tenant_2',
    ]);
  });
});

describe('fleet phases and runs', () => {
  it('plans a canary, then gated waves; or one phase', () => {
    expect(planPhases(5)).toEqual([{ from: 0, to: 5, gated: false }]);
    expect(planPhases(5, 2)).toEqual([
      { from: 0, to: 2, label: 'canary', gated: true },
      { from: 2, to: 5, label: 'rest', gated: false },
    ]);
    expect(planPhases(7, 1, 3).map((p) => [p.from, p.to, p.label])).toEqual([
      [0, 1, 'canary'],
      [1, 4, 'wave 1'],
      [4, 7, 'wave 2'],
    ]);
  });

  const targets: FleetTarget[] = Array.from({ length: 8 }, (_, i) => ({
    name: `t${i}`,
    url: `postgres://h/t${i}`,
  }));
  const report = (status: 'ok' | 'fail') =>
    makeReport({
      command: 'migrate up',
      kind: 'migrations',
      started: new Date(),
      items: [{ id: 'lookup/0001', status: status === 'ok' ? 'applied' : 'failed' }],
    });
  const silent = { start() {}, begin() {}, end() {}, note() {}, finish() {} };

  it('stops at the first unhealthy wave and says why for every target not attempted', async () => {
    const started: string[] = [];
    const results = await runFleet(targets, {
      parallel: 2,
      failFast: false,
      wave: 3,
      failOn: 'fail',
      signal: new AbortController().signal,
      progress: silent,
      async runTarget(t): Promise<TargetReports> {
        started.push(t.name);
        return { report: report(t.name === 't4' ? 'fail' : 'ok') };
      },
    });
    expect(started.sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
    expect(results.map((r) => r.status)).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'fail',
      'ok',
      'not-attempted',
      'not-attempted',
    ]);
    expect(results[6]!.message).toBe('wave 2 unhealthy: t4 fail (lookup/0001 failed)');
    const fleet = fleetReport('migrate up', new Date(), results);
    expect(fleet.exitCode).toBe(2);
    expect(summaryCounts(fleet)).toBe('5 ok, 1 fail, 2 not attempted of 8');
  });
});

import type { DbopsError } from '../errors.js';
import type { MigrationPlan } from '../migrate/dryRun.js';
import type { MigrationRun } from '../migrate/engine.js';
import type { MigrationStatus } from '../migrate/plan.js';
import { makeReport, type Report, type ReportItem } from './types.js';

type ErrorOf = (err: DbopsError) => NonNullable<Report['error']>;

/** Report of an up/down/redo run: one item per migration run, in order. */
export function runReport(
  command: string,
  started: Date,
  run: MigrationRun,
  errorOf: ErrorOf,
): Report {
  return makeReport({
    command,
    kind: 'migrations',
    started,
    items: run.outcomes.map((o) => ({
      id: `${o.family}/${o.name}`,
      status: o.status === 'failed' ? 'failed' : o.direction === 'up' ? 'applied' : 'reverted',
      numbers: { durationMs: o.durationMs, attempts: o.attempts },
    })),
    ...(run.outcomes.length === 0 && !run.error
      ? { notes: [...run.notes, 'Nothing to do: no migration selected.'] }
      : run.notes.length > 0
        ? { notes: run.notes }
        : {}),
    ...(run.error ? { error: errorOf(run.error) } : {}),
  });
}

/** `migrate status`: every migration with its state; pending is a finding only with --fail-on-pending. */
export function statusReport(
  command: string,
  started: Date,
  rows: MigrationStatus[],
  failOnPending: boolean,
  /** Leftovers of interrupted runs (see src/migrate/leftovers.ts), shown as notes. */
  found: string[] = [],
): Report {
  const items = rows.map((r) => ({
    id: `${r.family}/${r.name}`,
    status: r.state,
    details: {
      appliedAt: r.appliedAt ? formatTime(r.appliedAt) : '',
      ...(r.appliedAt ? { appliedAtIso: r.appliedAt.toISOString() } : {}),
      checksumRecorded: r.checksumRecorded,
    },
    ...(r.state === 'changed'
      ? { message: 'file changed since it was applied (checksum differs)' }
      : r.state === 'pending'
        ? { hint: `dbops migrate up ${r.family}` }
        : {}),
  }));
  const families = familyItems(rows);
  const pending = rows.some((r) => r.state === 'pending');
  const changed = rows.some((r) => r.state === 'changed' || r.state === 'missing-file');
  const partial = families.some((f) => f.status === 'partial');
  return makeReport({
    command,
    kind: 'migrations',
    started,
    items: [...families, ...items],
    status: pending && failOnPending ? 'fail' : changed || partial ? 'warn' : 'ok',
    ...(found.length > 0 ? { notes: found } : {}),
  });
}

/** `--dry-run`: the SQL each selected migration would run, nothing executed. */
export function planReport(command: string, started: Date, plan: MigrationPlan): Report {
  const { planned } = plan;
  return makeReport({
    command,
    kind: 'migrations',
    started,
    status: 'ok',
    notes: [
      ...plan.notes.map((n) => `-- plan: ${n}`),
      ...planned.map(
        (p) =>
          `-- ${p.family}/${p.name} (${p.direction}, ${p.transactional ? 'in one transaction' : 'outside a transaction, statement by statement'})\n${p.sql.trim()}\n`,
      ),
    ],
    items: planned.map((p) => ({
      id: `${p.family}/${p.name}`,
      status: 'planned',
      details: { direction: p.direction, transactional: p.transactional, sql: p.sql },
    })),
  });
}

/**
 * One item per family, before its migrations: applied (all), pending (none), or partial (some:
 * a run stopped between migrations; its derived objects are not checked or resynced until a
 * rerun of migrate up finishes it).
 */
function familyItems(rows: MigrationStatus[]): ReportItem[] {
  const byFamily = new Map<string, MigrationStatus[]>();
  for (const r of rows) byFamily.set(r.family, [...(byFamily.get(r.family) ?? []), r]);
  return [...byFamily].map(([family, list]) => {
    const applied = list.filter((r) => r.state !== 'pending').length;
    const status = applied === 0 ? 'pending' : applied === list.length ? 'applied' : 'partial';
    const next = list.find((r) => r.state === 'pending');
    return {
      id: family,
      status,
      family,
      message: `${applied} of ${list.length} migrations applied${next ? `; next: ${next.name}` : ''}`,
      ...(status === 'applied' ? {} : { hint: `dbops migrate up ${family}` }),
      details: { kind: 'family' },
    };
  });
}

function formatTime(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 16);
}

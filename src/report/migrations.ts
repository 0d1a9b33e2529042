import type { DbopsError } from '../errors.js';
import type { PlannedMigration } from '../migrate/dryRun.js';
import type { MigrationRun } from '../migrate/engine.js';
import type { MigrationStatus } from '../migrate/plan.js';
import { makeReport, type Report } from './types.js';

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
      ? { notes: ['Nothing to do: no migration selected.'] }
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
): Report {
  const items = rows.map((r) => ({
    id: `${r.family}/${r.name}`,
    status: r.state,
    details: {
      appliedAt: r.appliedAt ? formatTime(r.appliedAt) : '',
      checksumRecorded: r.checksumRecorded,
    },
    ...(r.state === 'changed'
      ? { message: 'file changed since it was applied (checksum differs)' }
      : r.state === 'pending'
        ? { hint: `dbops migrate up ${r.family}` }
        : {}),
  }));
  const pending = rows.some((r) => r.state === 'pending');
  const changed = rows.some((r) => r.state === 'changed' || r.state === 'missing-file');
  return makeReport({
    command,
    kind: 'migrations',
    started,
    items,
    status: pending && failOnPending ? 'fail' : changed ? 'warn' : 'ok',
  });
}

/** `--dry-run`: the SQL each selected migration would run, nothing executed. */
export function planReport(command: string, started: Date, planned: PlannedMigration[]): Report {
  return makeReport({
    command,
    kind: 'migrations',
    started,
    status: 'ok',
    notes: planned.map(
      (p) =>
        `-- ${p.family}/${p.name} (${p.direction}, ${p.transactional ? 'in one transaction' : 'outside a transaction, statement by statement'})\n${p.sql.trim()}\n`,
    ),
    items: planned.map((p) => ({
      id: `${p.family}/${p.name}`,
      status: 'planned',
      details: { direction: p.direction, transactional: p.transactional, sql: p.sql },
    })),
  });
}

function formatTime(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 16);
}

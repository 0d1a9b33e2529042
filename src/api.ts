/**
 * dbops as a library: `import { migrate, check, resync, status } from 'dbops'`.
 *
 * Each function resolves its options like the CLI resolves flags, does the job, and returns the
 * Report the CLI renders (`--format json` prints it, with `items` named by `kind`). Nothing is
 * printed and the process is never exited. Failures are thrown as DbopsError subclasses (`kind` says which):
 * before the job starts (bad options, config, connection) the error itself; when a migration or
 * resync stopped with a failure, an OperationError whose `report` holds what was done.
 * See docs/api.md.
 */
import { runCheck, runMigrate, runResync, runSkew, runStatus } from './api/operations.js';
import { resolveOptions } from './api/resolve.js';
import type {
  CheckRequest,
  DbopsOptions,
  MigrateRequest,
  ResyncRequest,
  SkewRequest,
  StatusRequest,
} from './api/types.js';
import { DbopsError, type ErrorKind, UsageError } from './errors.js';
import type { Report } from './report/types.js';

export type {
  CheckRequest,
  DbopsConfig,
  DbopsOptions,
  MigrateRequest,
  ResyncRequest,
  SkewRequest,
  StatusRequest,
} from './api/types.js';
export {
  ConfigError,
  ConnectionError,
  DatabaseError,
  DbopsError,
  type ErrorKind,
  InterruptedError,
  LockError,
  PreconditionError,
  UsageError,
} from './errors.js';
export type { Progress } from './progress.js';
export type { OverallStatus, Report, ReportItem, ReportKind } from './report/types.js';
export { exitCodeFor } from './report/types.js';

/**
 * A migration or resync that stopped with a failure (preflight refusal, lock not obtained, a
 * failed step, an abort); earlier migrations stay applied, committed batches are kept, a rerun
 * finishes. `report` is what the CLI prints
 * before its error line; `kind`, `message` and `hint` are those of the failure.
 */
export class OperationError extends DbopsError {
  readonly report: Report;
  constructor(report: Report) {
    const error = report.error!;
    super(error.kind as ErrorKind, error.message, error.hint);
    this.name = 'OperationError';
    this.report = report;
  }
}

function settle(report: Report): Report {
  if (report.error) throw new OperationError(report);
  return report;
}

/**
 * `dbops check all|consistency|schema [family...]`: one item per check with status, count,
 * sample and fix. A check whose SQL failed is an item with status `error` (the others still
 * ran); `report.status` is `ok`, `warn`, `fail` or `error`.
 */
export async function check(options: DbopsOptions & CheckRequest = {}): Promise<Report> {
  return runCheck(await resolveOptions(options), options);
}

/** `dbops check skew`: the balance of a partitioned table, as one `partition.skew` item. */
export async function checkSkew(options: DbopsOptions & SkewRequest = {}): Promise<Report> {
  return runSkew(await resolveOptions(options), options);
}

/** `dbops migrate up|down|redo`: one item per migration run, in order. */
export async function migrate(options: DbopsOptions & MigrateRequest = {}): Promise<Report> {
  return settle(await runMigrate(await resolveOptions(options), options));
}

/** `dbops migrate status`: per family applied/partial/pending, then every migration. */
export async function status(options: DbopsOptions & StatusRequest = {}): Promise<Report> {
  return runStatus(await resolveOptions(options), options);
}

/** `dbops resync <target...|all>`: one item per target with rows inserted/updated/deleted. */
export async function resync(options: DbopsOptions & ResyncRequest): Promise<Report> {
  return settle(await runResync(await resolveOptions(options), options));
}

/** What `render` can produce: the CLI's formats, and the Markdown job summary of `github`. */
export type ReportFormat = 'table' | 'json' | 'junit' | 'github' | 'github-summary' | 'html';

/**
 * The text the CLI prints for `report` with `--format <format>` (the table without colour unless
 * `color`). `github-summary` is the Markdown the CLI appends to $GITHUB_STEP_SUMMARY. Writes
 * nothing anywhere.
 */
export async function render(
  report: Report,
  format: ReportFormat,
  options: { failOn?: 'warn' | 'fail'; color?: boolean } = {},
): Promise<string> {
  const failOn = options.failOn ?? 'fail';
  switch (format) {
    case 'json':
      return (await import('./report/json.js')).renderJson(report);
    case 'junit':
      return (await import('./report/junit.js')).renderJunit(report, failOn);
    case 'github':
      return (await import('./report/github.js')).renderGithub(report).stdout;
    case 'github-summary':
      return (await import('./report/github.js')).renderGithub(report).markdown;
    case 'html':
      return (await import('./report/html.js')).renderHtml(report, failOn);
    case 'table': {
      const color = options.color === true;
      const style = await (await import('./report/style.js')).loadStyle(color);
      return (await import('./report/table.js')).renderTable(report, { color, style });
    }
    default:
      throw new UsageError(
        `format ${String(format)}: use table, json, junit, github, github-summary or html`,
      );
  }
}

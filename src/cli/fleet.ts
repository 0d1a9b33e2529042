import { appendFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { OperationEnv } from '../api/session.js';
import type { ResolvedConfig } from '../config.js';
import { maskSecrets } from '../db/connection.js';
import { connectionLostError, isConnectionLost } from '../db/pgError.js';
import { ConfigError, ConnectionError, DbopsError, UsageError } from '../errors.js';
import { expandPatterns } from '../fleet/expand.js';
import { type FleetProgress, fleetProgress } from '../fleet/progress.js';
import { runFleet } from '../fleet/run.js';
import { dedupeTargets, preselect, selectTargets } from '../fleet/select.js';
import { connectionStatus, fleetReport } from '../fleet/status.js';
import { parseTargetLines, parseTargetsFile } from '../fleet/targets.js';
import type { FleetReport, FleetTarget, TargetReports, TargetResult } from '../fleet/types.js';
import { silentProgress } from '../progress.js';
import { makeReport, type Report, type ReportKind } from '../report/types.js';
import type { CommandContext } from './context.js';
import type { FleetFlags, Job, JobOptions } from './job.js';
import { reportError } from './output.js';

/**
 * Fleet mode: the same job as on one database, on every target (at most --parallel at once),
 * then one matrix report on stdout and the fleet's exit code. Per-target work never prints;
 * progress goes to stderr.
 */
export async function runFleetCommand(
  ctx: CommandContext,
  title: string,
  flags: FleetFlags,
  job: Job,
  options: JobOptions,
): Promise<void> {
  if (ctx.format === 'html')
    throw new UsageError(
      '--format html is for one database',
      'Over a fleet use --format table, json, junit or github.',
    );
  if ((flags.canary !== undefined || flags.wave !== undefined) && !options.gate)
    throw new UsageError('--canary and --wave are for migrations (migrate up)');
  const targets = await resolveTargets(ctx.config, flags);
  const progress = fleetProgress(ctx.stderr, `fleet ${title}`);
  const started = new Date();
  const results = await runFleet(targets, {
    ...flags,
    failOn: options.failOn ?? 'fail',
    signal: ctx.signal,
    progress,
    runTarget: (target, gated) => runOnTarget(ctx, title, target, job, options, gated, progress),
  });
  // The single-database reports name the command in full (`resync all --dry-run`).
  const command = results.find((r) => r.report && !r.report.error)?.report?.command ?? title;
  const report = fleetReport(command, started, results.map(maskResult));
  ctx.stdout.write(await render(ctx, report, options.failOn ?? 'fail'));
  process.exitCode = Math.max(Number(process.exitCode ?? 0), report.exitCode);
}

/**
 * Every message a report can show, with passwords masked (errors may quote a connection string);
 * URLs themselves are masked by the renderers.
 */
function maskResult(result: TargetResult): TargetResult {
  const maskReport = (r: Report | undefined) =>
    r && {
      ...r,
      items: r.items.map((i) => (i.message ? { ...i, message: maskSecrets(i.message) } : i)),
      ...(r.error ? { error: { ...r.error, message: maskSecrets(r.error.message) } } : {}),
    };
  return {
    ...result,
    ...(result.message ? { message: maskSecrets(result.message) } : {}),
    ...(result.report ? { report: maskReport(result.report) } : {}),
    ...(result.state ? { state: maskReport(result.state) } : {}),
    ...(result.gate ? { gate: maskReport(result.gate) } : {}),
  };
}

/** --targets file, --targets - (stdin), or config `targets`; then --target and patterns. */
async function resolveTargets(config: ResolvedConfig, flags: FleetFlags): Promise<FleetTarget[]> {
  let list: FleetTarget[];
  if (flags.targets === '-') list = parseTargetLines(await readStdin());
  else if (flags.targets !== undefined)
    list = parseTargetsFile(readTargetsFile(flags.targets), flags.targets);
  else if (config.targets) list = config.targets;
  else
    throw new UsageError(
      '--target needs a list of targets',
      'Give --targets <file> (or - for URLs on stdin), or list targets in dbops.config.json.',
    );
  if (flags.names) list = preselect(list, flags.names);
  list = await expandPatterns(list);
  if (flags.names) list = selectTargets(list, flags.names);
  list = dedupeTargets(list);
  if (list.length === 0) throw new UsageError('no targets to run on', 'The targets list is empty.');
  return list;
}

function readTargetsFile(path: string): string {
  try {
    return readFileSync(resolve(process.cwd(), path), 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot be read: ${err instanceof Error ? err.message : err}`]);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError(
      '--targets - reads URLs from stdin',
      'Pipe them in: ... | dbops check all --targets -',
    );
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One target: the job (the same API operation the single-database command runs) with the
 * target's URL and settings, then the state and the gate; each opens its own connection.
 */
async function runOnTarget(
  ctx: CommandContext,
  title: string,
  target: FleetTarget,
  job: Job,
  options: JobOptions,
  gated: boolean,
  progress: FleetProgress,
): Promise<TargetReports> {
  const env: OperationEnv = {
    config: targetConfig(ctx.config, target),
    connection: { url: target.url, source: 'fleet target' },
    progress: { ...silentProgress, note: (m) => progress.note(`${target.name}: ${m}`) },
    signal: ctx.signal,
  };
  const started = new Date();
  let report: Report;
  try {
    report = await job(env);
  } catch (err) {
    if (err instanceof DbopsError && (err.kind === 'usage' || err.kind === 'config')) throw err;
    return {
      report: errorReport(title, started, err),
      ...(err instanceof ConnectionError ? { connection: connectionStatus(err) } : {}),
    };
  }
  const state =
    options.state &&
    !ctx.signal.aborted &&
    (await contained(() => options.state!(env), 'migrate status', 'migrations'));
  const gate =
    gated && options.gate && report.status !== 'error' && !ctx.signal.aborted
      ? await contained(() => options.gate!(env), 'check all', 'checks')
      : undefined;
  return { report, ...(state ? { state } : {}), ...(gate ? { gate } : {}) };
}

/** The target's families and schemas over the config's. */
function targetConfig(config: ResolvedConfig, target: FleetTarget): ResolvedConfig {
  return {
    ...config,
    families: target.families ?? config.families,
    schemas: { ...config.schemas, ...target.schemas },
  };
}

/** A follow-up report (state, gate) that failed becomes an error report, not a lost target. */
async function contained(
  fn: () => Promise<Report>,
  command: string,
  kind: ReportKind,
): Promise<Report> {
  const started = new Date();
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DbopsError && (err.kind === 'usage' || err.kind === 'config')) throw err;
    return makeReport({ command, kind, started, items: [], error: errorOf(err) });
  }
}

function errorReport(title: string, started: Date, err: unknown): Report {
  const kind: ReportKind = title.startsWith('check')
    ? 'checks'
    : title.startsWith('resync')
      ? 'targets'
      : 'migrations';
  return makeReport({ command: title, kind, started, items: [], error: errorOf(err) });
}

/**
 * Expected failures as the single-database command reports them (a connection lost mid-query
 * too). Anything else (a bug) stays on its target as an internal error: one broken database must
 * not take the fleet's report with it.
 */
function errorOf(err: unknown): NonNullable<Report['error']> {
  if (isConnectionLost(err)) return reportError(connectionLostError(err));
  if (err instanceof DbopsError) return reportError(err);
  const message = maskSecrets(err instanceof Error ? err.message : String(err));
  return { kind: 'internal', message };
}

async function render(
  ctx: CommandContext,
  report: FleetReport,
  failOn: 'warn' | 'fail',
): Promise<string> {
  switch (ctx.format) {
    case 'json':
      return (await import('../fleet/renderJson.js')).renderFleetJson(report);
    case 'junit':
      return (await import('../fleet/renderJunit.js')).renderFleetJunit(report, failOn);
    case 'github': {
      const { stdout, markdown } = (await import('../fleet/renderGithub.js')).renderFleetGithub(
        report,
      );
      const summaryFile = process.env.GITHUB_STEP_SUMMARY;
      if (summaryFile) appendFileSync(summaryFile, markdown);
      return stdout;
    }
    default:
      return (await import('../fleet/renderTable.js')).renderFleetTable(report, {
        color: ctx.color,
        style: await (await import('../report/style.js')).loadStyle(ctx.color),
        width: ctx.stdout.isTTY ? process.stdout.columns : undefined,
      });
  }
}

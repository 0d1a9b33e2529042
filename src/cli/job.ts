import type { Command } from 'commander';
import type { OperationEnv } from '../api/session.js';
import { UsageError } from '../errors.js';
import type { Report } from '../report/types.js';
import { commandContext, parsePositiveInt } from './context.js';
import { emit } from './output.js';

/**
 * The work of a command on one database: an API operation (src/api/operations.ts) bound to the
 * parsed request. It opens its own connection from `env`, returns the report and never prints.
 */
export type Job = (env: OperationEnv) => Promise<Report>;

/** How a command's job runs over a fleet besides the job itself. */
export interface JobOptions {
  failOn?: 'warn' | 'fail';
  /** Run after the job on each target: the state the matrix shows (migrations: `migrate status`). */
  state?: Job;
  /** The health gate after each canary/wave target (check all); only migrations take --canary/--wave. */
  gate?: Job;
}

/** Fleet flags as given; undefined when the command runs on one database. */
export interface FleetFlags {
  targets: string | undefined;
  names: string[] | undefined;
  parallel: number;
  failFast: boolean;
  canary: number | undefined;
  wave: number | undefined;
}

/** Default --parallel: small, so that a fleet run is gentle on a shared server. */
export const DEFAULT_PARALLEL = 4;
/** Upper bound of --parallel: each worker holds one connection (two while cancelling). */
export const MAX_PARALLEL = 32;

/**
 * The one switch between the two modes: the job on the command's database (the default), or on
 * every target of a fleet (--targets, --target) with one matrix report.
 */
export async function runJob(
  cmd: Command,
  signal: AbortSignal,
  job: Job,
  options: JobOptions = {},
): Promise<void> {
  const flags = fleetFlags(cmd);
  const ctx = await commandContext(cmd, signal);
  if (flags) {
    const { runFleetCommand } = await import('./fleet.js');
    await runFleetCommand(ctx, commandTitle(cmd), flags, job, options);
    return;
  }
  // The connection opens while the job loads its modules; the job's withClient takes it.
  const { openSessionEarly, closeEarlySession } = await import('../api/session.js');
  openSessionEarly(ctx);
  try {
    await emit(ctx, await job(ctx), options.failOn);
  } finally {
    await closeEarlySession();
  }
}

function commandTitle(cmd: Command): string {
  const parent = cmd.parent?.parent ? `${cmd.parent.name()} ` : '';
  return `${parent}${cmd.name()}`;
}

interface RawFleetOptions {
  databaseUrl?: string;
  targets?: string;
  target?: string[];
  parallel?: string;
  failFast?: boolean;
  canary?: string;
  wave?: string;
}

export function fleetFlags(cmd: Command): FleetFlags | undefined {
  const o = cmd.optsWithGlobals<RawFleetOptions>();
  if (o.targets === undefined && o.target === undefined) {
    const stray = [
      o.parallel !== undefined && '--parallel',
      o.failFast && '--fail-fast',
      o.canary !== undefined && '--canary',
      o.wave !== undefined && '--wave',
    ].filter(Boolean);
    if (stray.length > 0)
      throw new UsageError(
        `${stray.join(', ')} work only over a fleet`,
        'Name the targets with --targets <file|-> (or targets in dbops.config.json and --target <name...>).',
      );
    return undefined;
  }
  if (o.databaseUrl !== undefined)
    throw new UsageError(
      '--database-url names one database; --targets/--target a fleet: give one of them',
    );
  const parallel =
    o.parallel === undefined ? DEFAULT_PARALLEL : parsePositiveInt('--parallel', o.parallel);
  if (parallel > MAX_PARALLEL)
    throw new UsageError(
      `--parallel ${parallel}: at most ${MAX_PARALLEL}`,
      'Each worker holds a connection; more than a few per core rarely helps.',
    );
  return {
    targets: o.targets,
    names: o.target?.flatMap((n) => n.split(',')).filter((n) => n !== ''),
    parallel,
    failFast: o.failFast === true,
    canary: o.canary === undefined ? undefined : parsePositiveInt('--canary', o.canary),
    wave: o.wave === undefined ? undefined : parsePositiveInt('--wave', o.wave),
  };
}

import { runPool } from './pool.js';
import type { FleetProgress } from './progress.js';
import { classify, findingIds, healthy } from './status.js';
import type { FleetTarget, TargetReports, TargetResult } from './types.js';

export interface FleetRunOptions {
  /** Targets worked on at once. */
  parallel: number;
  /** Start no further target after one is not healthy. */
  failFast: boolean;
  /** Migrations: this many targets first, gated by check all. */
  canary?: number;
  /** Migrations: the rest in waves of this size, each gated by check all. */
  wave?: number;
  failOn: 'warn' | 'fail';
  signal: AbortSignal;
  progress: FleetProgress;
  /**
   * The command's work on one target (with the health gate when `gated`). Expected failures
   * (unreachable, SQL errors) come back as reports, never as rejections.
   */
  runTarget(target: FleetTarget, gated: boolean): Promise<TargetReports>;
}

/** A slice of the target list run together; a gated phase must be healthy for the run to go on. */
export interface Phase {
  from: number;
  to: number;
  label?: string;
  gated: boolean;
}

/**
 * Without --canary/--wave: one phase, every target. --canary n: the first n targets, gated; then
 * the rest in one phase, or (--wave) in gated waves of that size. Targets go in list order.
 */
export function planPhases(total: number, canary?: number, wave?: number): Phase[] {
  const phases: Phase[] = [];
  let from = 0;
  if (canary !== undefined) {
    phases.push({ from, to: Math.min(canary, total), label: 'canary', gated: true });
    from = Math.min(canary, total);
  }
  if (wave === undefined) {
    if (from < total || phases.length === 0)
      phases.push({ from, to: total, ...(canary ? { label: 'rest' } : {}), gated: false });
    return phases;
  }
  for (let n = 1; from < total; n++, from += wave)
    phases.push({ from, to: Math.min(from + wave, total), label: `wave ${n}`, gated: true });
  return phases;
}

/**
 * Runs the command over the fleet, phase by phase, and says for every target what happened;
 * a target that was never started is `not-attempted` with the reason (canary or wave unhealthy,
 * --fail-fast, interrupted).
 */
export async function runFleet(
  targets: FleetTarget[],
  options: FleetRunOptions,
): Promise<TargetResult[]> {
  const results: (TargetResult | undefined)[] = new Array(targets.length).fill(undefined);
  let stopReason: string | undefined;
  const stopped = () => stopReason !== undefined || options.signal.aborted;
  options.progress.start(targets.length);
  for (const phase of planPhases(targets.length, options.canary, options.wave)) {
    if (stopped()) break;
    const slice = targets.slice(phase.from, phase.to);
    const done = await runPool(
      slice,
      options.parallel,
      async (target, worker) => {
        options.progress.begin(worker, target.name);
        const result = await runOne(target, phase, options);
        options.progress.end(worker, result.status);
        if (options.failFast && !healthy(result))
          stopReason ??= `--fail-fast: ${target.name} is ${result.status}`;
        return result;
      },
      stopped,
    );
    done.forEach((r, i) => {
      results[phase.from + i] = r;
    });
    const unhealthy = done.filter((r): r is TargetResult => r !== undefined && !healthy(r));
    if (phase.gated && unhealthy.length > 0)
      stopReason ??= `${phase.label} unhealthy: ${unhealthy.map(why).join('; ')}`;
  }
  options.progress.finish();
  if (options.signal.aborted) stopReason = 'interrupted (Ctrl-C)';
  return results.map(
    (r, i) =>
      r ?? {
        target: targets[i]!,
        status: 'not-attempted',
        message: stopReason ?? 'not started',
        durationMs: 0,
      },
  );
}

async function runOne(
  target: FleetTarget,
  phase: Phase,
  options: FleetRunOptions,
): Promise<TargetResult> {
  const started = Date.now();
  const label = phase.label ? { phase: phase.label } : {};
  if (target.problem) {
    return {
      target,
      ...label,
      status: target.problem.status,
      message: target.problem.message,
      durationMs: 0,
    };
  }
  const reports = await options.runTarget(target, phase.gated);
  const { status, message } = classify(reports, options.failOn);
  return {
    target,
    ...reports,
    ...label,
    status,
    ...(message ? { message } : {}),
    durationMs: Date.now() - started,
  };
}

/** `t02 fail (lookup.missing (3))`: a target and what made it unhealthy. */
function why(r: TargetResult): string {
  const ids = r.gate ? findingIds(r.gate, 'fail') : [];
  const detail = ids.length > 0 ? `check all: ${ids.join(', ')}` : r.message;
  return `${r.target.name} ${r.status}${detail ? ` (${detail})` : ''}`;
}

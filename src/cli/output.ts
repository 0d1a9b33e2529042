import { appendFileSync } from 'node:fs';
import { maskSecrets } from '../db/connection.js';
import { connectionLostError, isConnectionLost } from '../db/pgError.js';
import { DbopsError } from '../errors.js';
import { reportError } from '../report/error.js';
import { exitCodeFor, type Report } from '../report/types.js';
import type { CommandContext, Format } from './context.js';

export { reportError };

/** A report as the text that goes to stdout. */
export type Renderer = (report: Report, failOn: 'warn' | 'fail') => string;

/** Writes the report in the chosen format to stdout and sets the exit code from it. */
export async function emit(
  ctx: CommandContext,
  report: Report,
  failOn: 'warn' | 'fail' = 'fail',
): Promise<void> {
  const render = await ctx.render;
  ctx.stdout.write(render(report, failOn));
  if (report.error) ctx.stderr.write(describeError(report.error));
  process.exitCode = Math.max(Number(process.exitCode ?? 0), exitCodeFor(report, failOn));
}

/**
 * Loads only the chosen format's renderer: the table one pulls in cli-table3 (and chalk when colour
 * is on), which `--help`, `--version` and the machine formats do not need.
 */
export async function rendererFor(format: Format, color: boolean): Promise<Renderer> {
  switch (format) {
    case 'json': {
      const { renderJson } = await import('../report/json.js');
      return (report) => renderJson(report);
    }
    case 'junit': {
      const { renderJunit } = await import('../report/junit.js');
      return renderJunit;
    }
    case 'github': {
      const { renderGithub } = await import('../report/github.js');
      return (report) => {
        const { stdout, markdown } = renderGithub(report);
        const summaryFile = process.env.GITHUB_STEP_SUMMARY;
        if (summaryFile) appendFileSync(summaryFile, markdown);
        return stdout;
      };
    }
    case 'html': {
      const { renderHtml } = await import('../report/html.js');
      return renderHtml;
    }
    default: {
      const { renderTable } = await import('../report/table.js');
      const { loadStyle } = await import('../report/style.js');
      const style = await loadStyle(color);
      return (report) => renderTable(report, { color, style });
    }
  }
}

function describeError(error: NonNullable<Report['error']>): string {
  return `dbops: ${error.kind} error: ${maskSecrets(error.message)}\n${error.hint ? `hint: ${error.hint}\n` : ''}`;
}

/** Top-level: print an error that escaped a command and return the exit code (always 2). */
export function printFatal(stderr: NodeJS.WritableStream, err: unknown): number {
  // A connection lost outside a migration or resync step (e.g. reading the history) is no bug.
  if (isConnectionLost(err)) err = connectionLostError(err);
  if (err instanceof DbopsError) {
    stderr.write(describeError(reportError(err)));
  } else {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    stderr.write(
      `dbops: internal error (a bug; please report it with this output):\n${maskSecrets(text)}\n`,
    );
  }
  return 2;
}

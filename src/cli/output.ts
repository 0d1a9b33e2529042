import { appendFileSync } from 'node:fs';
import { maskSecrets } from '../db/connection.js';
import { renderDatabaseError } from '../db/pgError.js';
import { DatabaseError, DbopsError } from '../errors.js';
import { renderGithub } from '../report/github.js';
import { renderJson } from '../report/json.js';
import { renderJunit } from '../report/junit.js';
import { renderTable } from '../report/table.js';
import { exitCodeFor, type Report } from '../report/types.js';
import type { CommandContext } from './context.js';

/** Writes the report in the chosen format to stdout and sets the exit code from it. */
export function emit(ctx: CommandContext, report: Report, failOn: 'warn' | 'fail' = 'fail'): void {
  ctx.stdout.write(render(ctx, report, failOn));
  if (report.error) ctx.stderr.write(describeError(report.error));
  process.exitCode = Math.max(Number(process.exitCode ?? 0), exitCodeFor(report, failOn));
}

function render(ctx: CommandContext, report: Report, failOn: 'warn' | 'fail'): string {
  switch (ctx.format) {
    case 'json':
      return renderJson(report);
    case 'junit':
      return renderJunit(report, failOn);
    case 'github': {
      const { stdout, markdown } = renderGithub(report);
      const summaryFile = process.env.GITHUB_STEP_SUMMARY;
      if (summaryFile) appendFileSync(summaryFile, markdown);
      return stdout;
    }
    default:
      return renderTable(report, { color: ctx.color });
  }
}

function describeError(error: NonNullable<Report['error']>): string {
  return `dbops: ${error.kind} error: ${maskSecrets(error.message)}\n${error.hint ? `hint: ${error.hint}\n` : ''}`;
}

/** The error part of a report, from a DbopsError (PostgreSQL details included). */
export function reportError(err: DbopsError): NonNullable<Report['error']> {
  const message = err instanceof DatabaseError ? renderDatabaseError(err).join('\n') : err.message;
  return { kind: err.kind, message, ...(err.hint ? { hint: err.hint } : {}) };
}

/** Top-level: print an error that escaped a command and return the exit code (always 2). */
export function printFatal(stderr: NodeJS.WritableStream, err: unknown): number {
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

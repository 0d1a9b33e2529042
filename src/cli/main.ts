import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../paths.js';
import { registerCheck } from './check.js';
import { registerDemo } from './demo.js';
import { installInterruptHandler } from './interrupt.js';
import { registerMigrate } from './migrate.js';
import { printFatal } from './output.js';
import { registerResync } from './resync.js';

const EXIT_CODES = `
Exit codes:
  0  success; every check ok (warnings allowed unless --fail-on warn)
  1  findings: a check failed, skew past the fail threshold, pending migrations with --fail-on-pending
  2  dbops could not do the job: usage or config error, connection refused, lock not obtained,
     SQL error, interrupted
Over a fleet (--targets): 0 every target ok; 1 findings on any target; 2 any target could not be
processed (unreachable, refused, error, not attempted); the last line counts each.`;

function packageVersion(): string {
  return (
    JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

export function buildProgram(signal: AbortSignal): Command {
  const program = new Command('dbops')
    .description(
      'PostgreSQL operations: online reversible migrations, resync of derived data, health checks',
    )
    .version(packageVersion())
    .option(
      '--database-url <url>',
      'postgres://user:password@host:port/db (else DATABASE_URL, config, PG* variables)',
    )
    .option(
      '--config <file>',
      'config file (default: dbops.config.json|.js|.ts in the working directory)',
    )
    .option('--format <format>', 'table | json | junit | github | html', undefined)
    .option('--no-color', 'no colour codes (also: NO_COLOR, or any non-table format)')
    .option('--lock-timeout <ms>', 'lock_timeout for DDL, in ms (default 3000)')
    .option(
      '--statement-timeout <ms>',
      'statement_timeout for migrations and resyncs, in ms (0 = none)',
    )
    .option('--targets <file>', 'fleet: run on every target in this JSON file (- : URLs on stdin)')
    .option('--target <name...>', 'fleet: only these targets (from --targets or config targets)')
    .option('--parallel <n>', 'fleet: targets worked on at once (default 4, at most 32)')
    .option('--fail-fast', 'fleet: start no further target after one fails')
    .addHelpText('after', EXIT_CODES)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerMigrate(program, signal);
  registerResync(program, signal);
  registerCheck(program, signal);
  registerDemo(program, signal);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/** Runs the CLI and returns the exit code; errors never escape as stack traces unless they are bugs. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const removeHandler = installInterruptHandler(controller, process.stderr);
  try {
    await buildProgram(controller.signal).parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(
        err.code,
      );
      return ok ? 0 : 2;
    }
    return printFatal(process.stderr, err);
  } finally {
    removeHandler();
  }
}

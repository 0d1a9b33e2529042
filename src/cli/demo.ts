import { Chalk } from 'chalk';
import type { Command } from 'commander';
import { openClient } from '../db/connection.js';
import { createScratchDatabase } from '../db/scratch.js';
import { configureSession } from '../db/session.js';
import { runTour } from '../demo/tour.js';
import { UsageError } from '../errors.js';
import { renderTable } from '../report/table.js';
import { type CommandContext, commandContext, parsePositiveInt } from './context.js';
import { reportError } from './output.js';

/** `dbops demo [--rows n] [--keep]`: the whole job, on a fresh database. */
export function registerDemo(program: Command, signal: AbortSignal): void {
  program
    .command('demo')
    .description(
      'a complete tour on a fresh database (embedded PostgreSQL unless a server is configured)',
    )
    .option('--rows <n>', 'source rows per family', '50000')
    .option('--keep', 'keep the demo database and print its URL')
    .action(async (opts: { rows: string; keep?: boolean }, cmd: Command) => {
      const rows = parsePositiveInt('--rows', opts.rows, 100);
      const ctx = await commandContext(cmd, signal);
      if (!ctx.connection.url) {
        throw new UsageError(
          'dbops demo needs a server URL for now (--database-url or DATABASE_URL)',
          'The embedded server is not wired in yet.',
        );
      }
      const db = await createScratchDatabase(ctx.connection, 'dbops_demo');
      try {
        await tour(ctx, db.spec, rows);
      } finally {
        if (opts.keep) ctx.stderr.write(`demo database kept: ${db.name}\n`);
        else await db.drop();
      }
    });
}

async function tour(
  ctx: CommandContext,
  spec: CommandContext['connection'],
  rows: number,
): Promise<void> {
  const c = new Chalk({ level: ctx.color ? 1 : 0 });
  const client = await openClient(spec);
  try {
    await configureSession(client, { lockTimeoutMs: ctx.config.lockTimeoutMs });
    await runTour(
      {
        client,
        config: ctx.config,
        progress: ctx.progress,
        signal: ctx.signal,
        errorOf: reportError,
        out: {
          step(title, narration) {
            ctx.stdout.write(`\n${c.bold(title)}\n${narration.map((l) => `  ${l}`).join('\n')}\n`);
          },
          report(report, exitCode) {
            ctx.stdout.write(renderTable(report, { color: ctx.color }));
            ctx.stdout.write(c.dim(`  (exit code of this command: ${exitCode})\n`));
          },
        },
      },
      rows,
    );
  } finally {
    await client.end();
  }
}

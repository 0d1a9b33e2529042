import type { Command } from 'commander';
import { type ConnectionSpec, openClient } from '../db/connection.js';
import { configureSession } from '../db/session.js';
import { type CommandContext, commandContext, parsePositiveInt } from './context.js';
import { reportError } from './output.js';

/**
 * `dbops demo [--rows n] [--keep]`: the whole job on a fresh database: on an embedded
 * PostgreSQL when no server is configured, else in a new database on the configured server
 * (existing databases are never touched).
 */
export function registerDemo(program: Command, signal: AbortSignal): void {
  program
    .command('demo')
    .description(
      'a complete tour on a fresh database (embedded PostgreSQL unless a server is configured)',
    )
    .option('--rows <n>', 'source rows per family', '20000')
    .option('--keep', 'on a configured server: keep the demo database and print its name')
    .action(async (opts: { rows: string; keep?: boolean }, cmd: Command) => {
      const rows = parsePositiveInt('--rows', opts.rows, 100);
      const ctx = await commandContext(cmd, signal);
      if (ctx.connection.source === 'default') {
        ctx.stderr.write('dbops demo: no server configured, starting an embedded PostgreSQL\n');
        const { withEmbeddedServer } = await import('../db/embedded.js');
        await withEmbeddedServer((server) => {
          ctx.stderr.write(
            `dbops demo: embedded PostgreSQL on 127.0.0.1:${server.port} (pid ${server.pid}, data in ${server.dataDir}); removed when the demo ends\n`,
          );
          return tour(ctx, { url: server.url, source: 'embedded server' }, rows);
        });
        return;
      }
      const { createScratchDatabase } = await import('../db/scratch.js');
      const db = await createScratchDatabase(ctx.connection, 'dbops_demo');
      try {
        await tour(ctx, db.spec, rows);
      } finally {
        if (opts.keep) ctx.stderr.write(`dbops demo: kept database ${db.name}\n`);
        else await db.drop();
      }
    });
}

async function tour(ctx: CommandContext, spec: ConnectionSpec, rows: number): Promise<void> {
  // The tour runs every engine; none of it is loaded until a demo starts.
  const { runTour } = await import('../demo/tour.js');
  const { renderTable } = await import('../report/table.js');
  const { loadStyle } = await import('../report/style.js');
  const c = await loadStyle(ctx.color);
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
            ctx.stdout.write(renderTable(report, { color: ctx.color, style: c }));
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

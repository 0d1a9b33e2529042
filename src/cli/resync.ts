import type { Command } from 'commander';
import type { FamilyName } from '../families/names.js';
import { resyncReport } from '../report/resync.js';
import { commandContext, parsePositiveInt, withDatabase } from './context.js';
import { emit } from './output.js';

/** `dbops resync <target...|all> [--dry-run] [--batch-size n]` */
export function registerResync(program: Command, signal: AbortSignal): void {
  program
    .command('resync <target...>')
    .description('rebuild trigger-maintained derived data from its sources, live, in batches')
    .option(
      '--dry-run',
      'report how many rows would be inserted, updated and deleted; change nothing',
    )
    .option('--batch-size <n>', 'source keys per committed batch (default: per target)')
    .addHelpText(
      'after',
      '\nTargets: partition-lookup, conversation-stats, sequence-numbers, checkpoints, chunking-stats, all',
    )
    .action(
      async (names: string[], opts: { dryRun?: boolean; batchSize?: string }, cmd: Command) => {
        // Loaded when the command runs: the registry pulls in every family's resync targets.
        const { targetsNamed } = await import('../resync/registry.js');
        const { runResync } = await import('../resync/run.js');
        const { whyNotApplied } = await import('../migrate/status.js');
        const { namedTargets } = await import('../migrate/targets.js');
        const targets = targetsNamed(names);
        const batchSize =
          opts.batchSize === undefined
            ? undefined
            : parsePositiveInt('--batch-size', opts.batchSize);
        const ctx = await commandContext(cmd, signal);
        await withDatabase(ctx, async (client) => {
          const started = new Date();
          const results = await runResync(
            {
              client,
              progress: ctx.progress,
              signal: ctx.signal,
              schemaOf: (family) => ctx.config.schemas[family as FamilyName],
              unavailable: async (family) =>
                whyNotApplied(client, namedTargets([family], ctx.config)[0]!),
              lockWaitMs: ctx.config.migrationLockWaitMs,
            },
            targets,
            { dryRun: opts.dryRun === true, ...(batchSize ? { batchSize } : {}) },
          );
          emit(
            ctx,
            resyncReport(
              `resync ${names.join(' ')}${opts.dryRun ? ' --dry-run' : ''}`,
              started,
              results,
            ),
          );
        });
      },
    );
}

import type { Command } from 'commander';
import { parsePositiveInt } from './context.js';
import { runJob } from './job.js';

/**
 * `dbops resync <target...|all> [--dry-run] [--batch-size n]`: parse, then run the API's resync
 * on one database or over a fleet (runJob), render.
 */
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
        // Loaded when the command runs: the operations load pg and every family's targets.
        const { runResync } = await import('../api/operations.js');
        const batchSize =
          opts.batchSize === undefined
            ? undefined
            : parsePositiveInt('--batch-size', opts.batchSize);
        await runJob(cmd, signal, (env) =>
          runResync(env, {
            targets: names,
            dryRun: opts.dryRun === true,
            ...(batchSize ? { batchSize } : {}),
          }),
        );
      },
    );
}

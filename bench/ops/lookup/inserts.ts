import { dbopsOrThrow } from '../../lib/cli.js';
import type { BenchContext, BenchOperation, SideName } from '../../lib/types.js';
import { concurrently } from '../../lib/writer.js';
import { PUSH_SQL } from './baselines.js';

/** Statements per timed run at --rows 1,000,000 for each batch size (about a second each). */
const STATEMENTS: Record<number, number> = { 1: 500, 10: 300, 100: 100, 1000: 20 };

/** Concurrent writers of the `-w8` operations (each pushes the statements above, on its own connection). */
const WRITERS = 8;

const CREATE_TRIGGER = `
CREATE TRIGGER trg_update_partition_lookup
AFTER INSERT ON queen.messages
REFERENCING NEW TABLE AS new_messages
FOR EACH STATEMENT EXECUTE FUNCTION queen.update_partition_lookup_trigger()`;

/**
 * Inserts into queen.messages with the lookup trigger (subject) vs without it (baseline), one
 * operation per batch size: the trigger's overhead ratio. SQL vs SQL, no CLI. Each statement is
 * one autocommitted push, as an application makes it; every row goes to a random partition
 * (uniform over all partitions; the worst case for a statement-level trigger, which then upserts
 * one lookup row per message) and is its partition's newest message, so every upsert writes.
 * "Without" means the trigger dropped: a disabled trigger with a transition table still makes
 * PostgreSQL capture the transition table.
 * The `-w8` operations run the same pushes from 8 connections at once (issue 21 item 5: the
 * trigger's cost measured with 8 concurrent writers as well as one); writers that upsert the same
 * lookup row queue on its row lock.
 */
export function insertOperations(rows: number): BenchOperation[] {
  const scale = Math.min(1, Math.max(0.02, rows / 1_000_000));
  let partitionIds: string[] = [];
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const op = (batch: number, writers = 1): BenchOperation => {
    const statements = Math.max(2, Math.round(STATEMENTS[batch]! * scale)) * writers;
    let run = { from: '', to: '', partitions: new Set<string>() };
    const push = () =>
      writers > 1
        ? concurrently(pushes(batch, statements), statements, writers)
        : pushes(batch, statements);
    return {
      id: `lookup.insert-b${batch}${writers > 1 ? `-w${writers}` : ''}`,
      title: `insert ${batch} row${batch > 1 ? 's' : ''}/statement${writers > 1 ? `, ${writers} writers` : ''}: with trigger vs without`,
      units: { count: statements * batch, label: 'rows' },
      target: batch >= 100 ? 1.3 : undefined, // issue 21 item 5 (issue 9 had 1.5)
      subject: push(),
      baseline: push(),
      async setup(ctx) {
        if (partitionIds.length > 0) return;
        // Run alone (bench --only), nothing before this has migrated: the trigger's function must exist.
        await dbopsOrThrow(ctx.db.url, 'migrate', 'up', 'lookup');
        const { rows: ids } = await ctx.client.query<{ id: string }>(
          'SELECT id::text FROM queen.partitions ORDER BY id',
        );
        partitionIds = ids.map((r) => r.id);
      },
      async reset(ctx, side) {
        await setTrigger(ctx, side);
        await ctx.client.query('CHECKPOINT');
        run = { from: new Date(clock).toISOString(), to: '', partitions: new Set() };
      },
      async verify(ctx, side) {
        run.to = new Date(clock).toISOString();
        const { rows: got } = await ctx.client.query<{ messages: number; advanced: number }>(
          `SELECT (SELECT count(*) FROM queen.messages
                    WHERE created_at >= $1 AND created_at < $2)::int AS messages,
                  (SELECT count(*) FROM queen.partition_lookup
                    WHERE last_message_created_at >= $1 AND last_message_created_at < $2)::int AS advanced`,
          [run.from, run.to],
        );
        const want = side === 'subject' ? run.partitions.size : 0;
        if (got[0]!.messages !== statements * batch || got[0]!.advanced !== want) {
          throw new Error(
            `insert b${batch} (${side}): ${got[0]!.messages} messages, ${got[0]!.advanced} lookup rows advanced; expected ${statements * batch} and ${want}`,
          );
        }
      },
    };

    function pushes(size: number, count: number): BenchOperation['baseline'] {
      return {
        kind: 'sql',
        sql: PUSH_SQL,
        repeat: count,
        paramsNote: `$1 = ${size} random partition ids, $2 = a timestamp later than every message`,
        params: () => {
          const ids = Array.from({ length: size }, () => {
            const id = partitionIds[Math.floor(Math.random() * partitionIds.length)]!;
            run.partitions.add(id);
            return id;
          });
          const at = new Date(clock).toISOString();
          clock += 1000; // a second per statement; rows within it are a microsecond apart
          return [ids, at];
        },
      };
    }
  };
  return [op(1), op(10), op(100), op(1000), op(100, WRITERS), op(1000, WRITERS)];
}

/** The trigger exists for the subject, not for the baseline. */
async function setTrigger(ctx: BenchContext, side: SideName): Promise<void> {
  await ctx.client.query('DROP TRIGGER IF EXISTS trg_update_partition_lookup ON queen.messages');
  if (side === 'subject') await ctx.client.query(CREATE_TRIGGER);
}

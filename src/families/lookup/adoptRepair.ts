/**
 * The row repair after adopting Queen's own partition_lookup (lookup 0002). Queen's rows may be
 * ahead (a deleted message), name another queue, or belong to partitions without messages
 * (Queen 0.14 refreshed the table from its push procedure and a 5-second reconcile job, without
 * a trigger). The advance-only backfill cannot fix those, so the resync's lock-then-repair
 * batches run over every partition, one transaction each, safe with live pushes (see
 * resync.ts). Then the foreign keys the adoption added NOT VALID are validated (SHARE UPDATE
 * EXCLUSIVE: pushes go on).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type pg from 'pg';
import { backoffMs, isDeadlock, isLockTimeout, sleep } from '../../db/retry.js';
import { withTransaction } from '../../db/session.js';
import { InterruptedError } from '../../errors.js';
import type { MigrationContext } from '../../migrate/context.js';
import { ADOPTED_TABLE_QUERY, adoptedNames } from './adopt.js';
import { partitionLookupTarget } from './resync.js';

const UNVALIDATED_FKS = `
SELECT con.conname FROM pg_constraint con
 WHERE con.conrelid = 'partition_lookup'::regclass AND con.contype = 'f' AND NOT con.convalidated
   AND con.conname IN ('partition_lookup_queue_name_fkey', 'partition_lookup_partition_id_fkey')
 ORDER BY con.conname`;

const RETRIES = 5;

export async function repairAdopted(pgm: MigrationBuilder, ctx: MigrationContext): Promise<void> {
  if (ctx.dryRun) {
    pgm.sql(
      '-- when Queen\'s partition_lookup was adopted: "dbops resync partition-lookup" batches ' +
        '(lock, repair) over every partition, then ALTER TABLE partition_lookup VALIDATE CONSTRAINT ' +
        'for the foreign keys added NOT VALID',
    );
    return;
  }
  const { rows } = await pgm.db.query(ADOPTED_TABLE_QUERY, [adoptedNames(ctx.schema).table]);
  if (!(rows[0] as { adopted: boolean } | undefined)?.adopted) return;
  // node-pg-migrate's db.query passes query configs through to its pg client.
  const client = { query: pgm.db.query } as unknown as pg.ClientBase;
  const label = 'lookup repair of the adopted rows (partitions)';
  ctx.progress.start(label, await partitionLookupTarget.totalKeys?.(client));
  let cursor: string | null = null;
  let keys = 0;
  do {
    if (ctx.signal.aborted) throw new InterruptedError(`interrupted during ${label}`);
    const outcome = await retried(ctx, label, () =>
      withTransaction(client, () =>
        partitionLookupTarget.repairBatch(client, cursor, ctx.batchSize),
      ),
    );
    cursor = outcome.next;
    keys += outcome.keys;
    ctx.progress.update(keys);
  } while (cursor !== null);
  await partitionLookupTarget.finish?.(client);
  ctx.progress.finish();
  const fks = await pgm.db.query(UNVALIDATED_FKS);
  for (const { conname } of fks.rows as { conname: string }[]) {
    // conname is one of the two literal names above.
    await pgm.db.query(`ALTER TABLE partition_lookup VALIDATE CONSTRAINT ${conname}`);
  }
}

/** A batch that hit lock_timeout or lost a deadlock was rolled back whole: run it again. */
async function retried<T>(ctx: MigrationContext, label: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(isLockTimeout(err) || isDeadlock(err)) || attempt > RETRIES) throw err;
      ctx.progress.note(`${label}: batch retry ${attempt}/${RETRIES} (${(err as Error).message})`);
      await sleep(backoffMs(attempt));
    }
  }
}

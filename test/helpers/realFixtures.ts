import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { packageRoot } from '../../src/paths.js';

/**
 * The real "before" schemas of the upstream systems (shared/fixtures/real, beside the
 * repository: on a developer's machine and in CI alike). Each file is plain SQL without psql
 * meta-commands, so one simple-protocol query loads it.
 */
export const REAL_FIXTURES_DIR = join(packageRoot, '..', 'shared', 'fixtures', 'real');

/** Fixture files and the family each was written for. */
export const REAL_FIXTURES = {
  lookup: ['lookup_real.sql'],
  partition: ['partition_real.sql'],
  checkpoint: ['checkpoint_real.sql', 'checkpoint_real_v021.sql'],
  sequence: ['sequence_real.sql', 'sequence_real_messaging_service.sql'],
} as const;

export function realFixtureSql(file: string): string {
  const path = join(REAL_FIXTURES_DIR, file);
  if (!existsSync(path))
    throw new Error(
      `real fixture ${path} is missing: the tests need ../shared beside the repository`,
    );
  return readFileSync(path, 'utf8');
}

/** Loads one real fixture into the (empty) database of `client`. */
export async function loadRealFixture(client: pg.ClientBase, file: string): Promise<void> {
  await client.query(realFixtureSql(file));
}

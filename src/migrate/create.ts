import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { getFamily } from '../families/index.js';
import { MIGRATION_FILE } from './files.js';

const TEMPLATE = `/**
 * <family> <index>: what this migration does and which locks it takes, for how long.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import type { MigrationContext } from './context.js';

// Transactional by default: only queue SQL with pgm.sql(); it runs in one transaction with the
// history row. For online work (CREATE INDEX CONCURRENTLY, batched backfills) call
// pgm.noTransaction() and make the migration idempotent: an interrupted run is not recorded and
// runs again. Names are unqualified: search_path is the family's schema while this runs.
export async function up(pgm: MigrationBuilder, _ctx: MigrationContext): Promise<void> {
  pgm.sql('SELECT 1');
}

/** Must restore exactly the state before up(). */
export async function down(pgm: MigrationBuilder, _ctx: MigrationContext): Promise<void> {
  pgm.sql('SELECT 1');
}
`;

/** Writes migrations/<family>/<next index>_<name>.ts from the template; returns its path. */
export function createMigration(family: string, name: string): string {
  const def = getFamily(family);
  if (!/^[a-z][a-z0-9_]{0,60}$/.test(name)) {
    throw new UsageError(
      `migration name "${name}" is not valid`,
      'Use lower-case letters, digits and underscores, starting with a letter.',
    );
  }
  mkdirSync(def.sourcesDir, { recursive: true });
  const indexes = readdirSync(def.sourcesDir)
    .filter((f) => MIGRATION_FILE.test(f))
    .map((f) => Number(f.slice(0, 4)));
  const index = String(Math.max(0, ...indexes) + 1).padStart(4, '0');
  const path = join(def.sourcesDir, `${index}_${name}.ts`);
  if (existsSync(path)) throw new UsageError(`${path} already exists`);
  writeFileSync(path, TEMPLATE.replace('<family>', String(def.name)).replace('<index>', index));
  return path;
}

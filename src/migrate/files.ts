import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SchemaManifest } from '../checks/manifest.js';
import type { MigrationFamily } from '../families/types.js';
import { compareNames } from '../order.js';
import type { DbopsMigration } from './context.js';

/** Migration file names: a 4-digit index, an underscore, lower-case words. */
export const MIGRATION_FILE = /^(\d{4}_[a-z0-9_]+)\.(?:js|ts)$/;

/** node-pg-migrate's ignorePattern (anchored by it): everything that is not a migration file. */
export const IGNORE_NON_MIGRATIONS = '(?!\\d{4}_[a-z0-9_]+\\.(?:js|ts)$).*';

export interface MigrationFile {
  /** The name recorded in history: file name without extension, e.g. 0001_partition_lookup. */
  name: string;
  /** The file node-pg-migrate loads. */
  path: string;
  /**
   * sha256 of the migration's source (.ts when shipped, else the loaded file), CRLF-normalized.
   * Computed on first read: commands that only need names (check, resync) never hash a file.
   */
  readonly checksum: string;
}

/** The family's migration files in apply order. */
export function listMigrationFiles(family: MigrationFamily): MigrationFile[] {
  if (!existsSync(family.migrationsDir)) return [];
  return readdirSync(family.migrationsDir)
    .map((file) => MIGRATION_FILE.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const name = m[1]!;
      const path = join(family.migrationsDir, m[0]);
      let checksum: string | undefined;
      return {
        name,
        path,
        get checksum() {
          const source = join(family.sourcesDir, `${name}.ts`);
          checksum ??= checksumOf(existsSync(source) ? source : path);
          return checksum;
        },
      };
    })
    .sort((a, b) => compareNames(a.name, b.name));
}

function checksumOf(path: string): string {
  // node:crypto only when a checksum is read (migrate up, status): checks and resyncs skip it.
  const { createHash } = createRequire(import.meta.url)(
    'node:crypto',
  ) as typeof import('node:crypto');
  const text = readFileSync(path, 'utf8').replaceAll('\r\n', '\n');
  return createHash('sha256').update(text).digest('hex');
}

/** Each migration file's `installs` manifest, in order (loads every migration module). */
export async function migrationManifests(
  family: MigrationFamily,
): Promise<{ file: MigrationFile; installs: SchemaManifest }[]> {
  const out: { file: MigrationFile; installs: SchemaManifest }[] = [];
  for (const file of listMigrationFiles(family)) {
    const mod = (await import(pathToFileURL(file.path).href)) as DbopsMigration;
    if (mod.installs) out.push({ file, installs: mod.installs });
  }
  return out;
}

import { UsageError } from '../errors.js';
import { compareNames } from '../order.js';
import type { MigrationFile } from './files.js';
import type { AppliedMigration } from './history.js';

export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing-file';

/** One migration of one family as `migrate status` reports it. */
export interface MigrationStatus {
  family: string;
  name: string;
  state: MigrationState;
  appliedAt: Date | undefined;
  /** False when history holds no checksum for an applied migration (nothing to compare). */
  checksumRecorded: boolean;
}

/**
 * Joins the files on disk with the history rows of one family. Without `checksums` an applied
 * migration is never 'changed' and no file is read (for callers to which changed = applied).
 */
export function compareWithHistory(
  family: string,
  files: MigrationFile[],
  applied: AppliedMigration[],
  { checksums = true }: { checksums?: boolean } = {},
): MigrationStatus[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const rows: MigrationStatus[] = applied.map((a) => {
    const file = byName.get(a.name);
    const state: MigrationState = !file
      ? 'missing-file'
      : checksums && a.checksum !== null && a.checksum !== file.checksum
        ? 'changed'
        : 'applied';
    return {
      family,
      name: a.name,
      state,
      appliedAt: a.runOn,
      checksumRecorded: a.checksum !== null,
    };
  });
  const appliedNames = new Set(applied.map((a) => a.name));
  for (const f of files) {
    if (!appliedNames.has(f.name)) {
      rows.push({
        family,
        name: f.name,
        state: 'pending',
        appliedAt: undefined,
        checksumRecorded: false,
      });
    }
  }
  return rows.sort((a, b) => compareNames(a.name, b.name));
}

/** Pending migrations to apply, in order, stopping after `to` when given. */
export function selectToApply(
  files: MigrationFile[],
  applied: AppliedMigration[],
  to?: string,
): MigrationFile[] {
  const appliedNames = new Set(applied.map((a) => a.name));
  const pending = files.filter((f) => !appliedNames.has(f.name));
  if (to === undefined) return pending;
  const index = files.findIndex((f) => f.name === to || f.name.startsWith(`${to}_`));
  if (index === -1) {
    throw new UsageError(
      `--to ${to}: no such migration`,
      `Migrations: ${files.map((f) => f.name).join(', ')}`,
    );
  }
  const last = files[index]!.name;
  return pending.filter((f) => f.name <= last);
}

export type RevertSelection = { count: number } | { to: string } | { all: true };

/** Applied migrations to roll back, newest first. `to` keeps the named migration applied. */
export function selectToRevert(applied: AppliedMigration[], selection: RevertSelection): string[] {
  const names = applied.map((a) => a.name);
  let chosen: string[];
  if ('all' in selection) chosen = names;
  else if ('count' in selection) chosen = selection.count > 0 ? names.slice(-selection.count) : [];
  else {
    const index = names.findIndex((n) => n === selection.to || n.startsWith(`${selection.to}_`));
    if (index === -1) {
      throw new UsageError(
        `--to ${selection.to}: not an applied migration`,
        `Applied: ${names.join(', ') || 'none'}`,
      );
    }
    chosen = names.slice(index + 1);
  }
  return chosen.reverse();
}

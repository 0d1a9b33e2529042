import { UsageError } from '../errors.js';
import { databaseOf, isPattern } from './targets.js';
import type { FleetTarget } from './types.js';

/**
 * --target: before patterns are expanded, keep the entries a name can refer to (the entry
 * itself, or one of the databases of a pattern entry: `<entry>/<database>`).
 */
export function preselect(targets: FleetTarget[], names: string[]): FleetTarget[] {
  return targets.filter((t) =>
    names.some((n) => n === t.name || (isPattern(t) && n.startsWith(`${t.name}/`))),
  );
}

/** --target after expansion: each name must match a target or a pattern entry (all its databases). */
export function selectTargets(targets: FleetTarget[], names: string[]): FleetTarget[] {
  const unknown = names.filter((n) => !targets.some((t) => t.name === n || t.group === n));
  if (unknown.length > 0) {
    const known = targets.map((t) => t.name);
    throw new UsageError(
      `--target ${unknown.join(', ')}: no such target`,
      `Known targets: ${known.slice(0, 10).join(', ')}${known.length > 10 ? `, ... (${known.length})` : ''}.`,
    );
  }
  return targets.filter((t) => names.includes(t.name) || (t.group && names.includes(t.group)));
}

/**
 * One target per database: a later entry naming the same host, port and database as an earlier
 * one (a pattern matching a database also listed by name) is dropped, so no run works on a
 * database twice.
 */
export function dedupeTargets(targets: FleetTarget[]): FleetTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    if (t.problem) return true;
    const u = new URL(t.url);
    const key = `${u.hostname}:${u.port || '5432'}/${databaseOf(t.url)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

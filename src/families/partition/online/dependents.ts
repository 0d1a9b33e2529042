import type { DependentObject } from '../../../catalog/snapshot.js';
import { grantSql } from '../../../catalog/snapshot.js';

/**
 * Views and materialized views that read chunks (directly or through other views). A view is
 * bound to the table it was created on, not to its name: renamed away by the swap, the old
 * table would keep them. So the swap transaction drops them (dependents first) before the
 * renames and creates them again from the definitions it read under the same lock, in creation
 * order, with their options, indexes, owner, grants and comment. A materialized view is created
 * WITH DATA when it was populated (its rows recomputed from the new table inside the swap: the
 * lock is held that long) and WITH NO DATA when it was not.
 */
export function dependentsDropSql(dependents: DependentObject[]): string[] {
  return [...dependents]
    .reverse()
    .map((v) => `DROP ${v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW'} IF EXISTS ${v.name}`);
}

export function dependentsCreateSql(dependents: DependentObject[]): string[] {
  return dependents.flatMap((v) => {
    const what = v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW';
    const options = v.options.length > 0 ? ` WITH (${v.options.join(', ')})` : '';
    const query = v.definition.trim().replace(/;$/, '');
    const data = v.kind === 'm' ? (v.populated ? ' WITH DATA' : ' WITH NO DATA') : '';
    return [
      `CREATE ${what} ${v.name}${options} AS ${query}${data}`,
      ...v.indexes,
      `ALTER ${what} ${v.name} OWNER TO "${v.owner.replace(/"/g, '""')}"`,
      ...v.grants.map((g) => grantSql(v.name, g)),
      ...(v.comment === null
        ? []
        : [`COMMENT ON ${what} ${v.name} IS '${v.comment.replace(/'/g, "''")}'`]),
    ];
  });
}

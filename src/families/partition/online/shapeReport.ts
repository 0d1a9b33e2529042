/**
 * The preflight's differences between the chunks table found and the 16-HASH shape the family
 * moves, as one actionable line per difference (every one in the same round). A difference that
 * PostgreSQL repeats on each partition (cloned constraints and indexes) is reported once, on
 * chunks. Lines are the `kind table.name definition` lines of shape.ts.
 */

const NOT_YET = 'the move does not carry this yet (issue 15 C)';

interface Line {
  kind: string;
  table: string;
  name: string;
  def: string;
  raw: string;
}

function parse(raw: string): Line {
  const m = /^(column|constraint|index|trigger|options|partition|partitioned|view) (.*)$/.exec(raw);
  const kind = m?.[1] ?? 'other';
  const rest = m?.[2] ?? raw;
  if (kind === 'constraint' || kind === 'index' || kind === 'trigger') {
    const [qualified = '', ...def] = rest.split(' ');
    const dot = qualified.indexOf('.');
    return {
      kind,
      table: qualified.slice(0, dot),
      name: qualified.slice(dot + 1),
      def: def.join(' '),
      raw,
    };
  }
  if (kind === 'column') {
    const [name = '', ...def] = rest.split(' ');
    return { kind, table: 'chunks', name, def: def.join(' '), raw };
  }
  return { kind, table: 'chunks', name: '', def: rest, raw };
}

/** Columns of a definition such as `UNIQUE USING btree (a, b)` or `UNIQUE (a, b)`. */
const columnsOf = (def: string) => /\(([^)]*)\)\s*$/.exec(def)?.[1] ?? def;

export function describeShapeDifferences(
  schema: string,
  missingRaw: string[],
  unexpectedRaw: string[],
): string[] {
  const onParent = (l: Line) => l.table === 'chunks' || l.table === '';
  const missing = missingRaw.map(parse);
  const unexpected = unexpectedRaw.map(parse);
  // Partition copies of a parent-level difference add nothing: keep only what differs on a
  // partition alone (its definition matches no parent-level difference).
  const parentDefs = new Set([...missing, ...unexpected].filter(onParent).map((l) => l.def));
  const keep = (l: Line) => onParent(l) || l.kind === 'partition' || !parentDefs.has(l.def);
  const miss = missing.filter(keep);
  const extra = unexpected.filter(keep);
  const t = `${schema}.chunks`;
  const lines: string[] = [];
  const used = new Set<Line>();

  for (const m of miss.filter((l) => l.kind === 'column')) {
    const now = extra.find((e) => e.kind === 'column' && e.name === m.name);
    if (now) used.add(now);
    used.add(m);
    lines.push(
      now
        ? `column ${t}.${m.name} is ${now.def}; the family moves ${m.def}: ${NOT_YET}, the LIST table would not keep it`
        : `column ${t}.${m.name} (${m.def}) is missing: the family copies it; add the column or ${NOT_YET}`,
    );
  }
  // Uniqueness held by a unique index where the family expects a constraint (or the reverse).
  for (const m of miss.filter((l) => l.kind === 'constraint' && l.def.startsWith('UNIQUE'))) {
    const ix = extra.find(
      (e) =>
        e.kind === 'index' && e.def.startsWith('UNIQUE') && columnsOf(e.def) === columnsOf(m.def),
    );
    if (!ix) continue;
    used.add(m).add(ix);
    for (const twin of miss) if (twin.kind === 'index' && twin.name === m.name) used.add(twin);
    lines.push(
      `uniqueness of (${columnsOf(m.def)}) on ${t} is the unique index ${ix.name}, not the constraint ` +
        `${m.name} the family moves: ${NOT_YET} (it would come back as a constraint, and on the LIST ` +
        'table it needs partition_key added)',
    );
  }
  const what: Record<string, string> = {
    constraint: 'constraint',
    index: 'index',
    trigger: 'trigger',
    options: 'storage options',
    view: 'dependent view',
  };
  for (const e of extra.filter((l) => !used.has(l))) {
    const where = onParent(e) ? t : `${schema}.${e.table}`;
    if (e.kind === 'column')
      lines.push(`column ${t}.${e.name} ${e.def} is one the family does not move: ${NOT_YET}`);
    else if (e.kind === 'view')
      lines.push(
        `${e.def.replace(/^(\S+) depends on (\S+)$/, `view ${schema}.$1 depends on ${schema}.$2`)}: ` +
          'after the swap it would still read the old HASH table; the move does not recreate ' +
          'dependent views yet (issue 15 C)',
      );
    else if (e.kind === 'partition')
      lines.push(`partition ${e.def} is not one of the 16 HASH partitions the family moves`);
    else if (e.kind === 'other')
      lines.push(
        `${e.raw.replace(/ (\S+)\.(\S+) references /, ` ${schema}.$1.$2 references `)}: ${NOT_YET}`,
      );
    else if (e.kind === 'partitioned')
      lines.push(`${t} is partitioned ${e.def}; the family moves HASH (collection_id) only`);
    else
      lines.push(
        `${what[e.kind] ?? e.kind} ${where}.${e.name} ${e.def} is not part of the shape the family moves: ${NOT_YET}`,
      );
  }
  const gone = miss.filter((l) => l.kind === 'partition').map((l) => l.def.split(' ')[0]);
  if (gone.length > 0)
    lines.push(`${gone.length} of the 16 HASH partitions are missing: ${gone.join(', ')}`);
  const otherKey = extra.some((l) => l.kind === 'partitioned');
  for (const m of miss.filter((l) => !used.has(l) && l.kind !== 'partition')) {
    if (m.kind === 'partitioned') {
      if (!otherKey) lines.push(`${t} is not partitioned ${m.def}`);
    } else
      lines.push(
        `${what[m.kind] ?? m.kind} ${onParent(m) ? t : `${schema}.${m.table}`}.${m.name} ${m.def} is missing: ` +
          'the family expects it (it rebuilds it on down)',
      );
  }
  return lines;
}

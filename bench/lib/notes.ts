/**
 * The "what the gap buys" lines under the bench table (issue 21): where a dbops operation cannot
 * match one hand-written statement by the shape of its work, the measured difference and what it
 * pays for. The table's "where the time goes" lines split the same difference into start-up,
 * fixed cost and work.
 */
const gap = (subjectMs: number, baselineMs: number) =>
  `${Math.round(subjectMs - baselineMs)} ms (${(subjectMs / baselineMs).toFixed(2)}x)`;

/** A resync in committed batches against one statement over the whole table. */
export function batchedResyncNote(batches: string): (s: number, b: number) => string {
  return (s, b) =>
    `${gap(s, b)} more buys ${batches}: each batch locks only the rows it repairs and commits, so live writers wait for at most one batch and an interrupted run keeps its work; the baseline is one transaction, without the row locks that make a repair safe against a writer committing meanwhile`;
}

/** A check against one counting statement. */
export function checkNote(s: number, b: number): string {
  return `${gap(s, b)} more: a whole process (start-up, connect, history read) around the family's checks in one READ ONLY snapshot with a sample of keys per finding, against one counting statement (in a fresh session too)`;
}

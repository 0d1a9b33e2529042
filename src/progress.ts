/**
 * Progress of long work (backfills, copies, resyncs, exact counts). Services report through this
 * interface and never print; the CLI supplies an implementation that writes to stderr.
 */
export interface Progress {
  /** A new phase begins; `total` is the expected number of units when known. */
  start(label: string, total?: number): void;
  /** `done` units of the current phase are finished (cumulative). */
  update(done: number): void;
  /** The current phase is complete. */
  finish(): void;
  /** A one-line note (e.g. "lock timeout on queen.messages, retrying in 1s"). */
  note(message: string): void;
}

export const silentProgress: Progress = {
  start() {},
  update() {},
  finish() {},
  note() {},
};

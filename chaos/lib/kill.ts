import type pg from 'pg';
import { type CliResult, startCli } from '../../test/helpers/cli.js';

/**
 * When and how a run is interrupted. With `restart`, the server is restarted at that moment
 * (`pg_ctl restart -m fast|immediate` of the suite's throwaway cluster) instead.
 */
export type KillPoint =
  /** SIGKILL the client this many ms after it started. */
  (
    | { kind: 'time'; ms: number; label: string }
    /** SIGKILL the client as soon as a dbops backend runs a statement matching `pattern` (regex). */
    | { kind: 'query'; pattern: string; label: string }
    /** SIGKILL the client as soon as the family's history holds `rows` rows. */
    | { kind: 'history'; family: string; rows: number; label: string }
    /** pg_terminate_backend of the client's sessions this many ms after it started. */
    | { kind: 'terminate'; ms: number; label: string }
  ) & { restart?: 'fast' | 'immediate' };

export interface KillOutcome {
  /** False when the run finished before the kill point was reached. */
  fired: boolean;
  firedAtMs: number;
  result: CliResult;
  /** How long the server restart took (restart points only). */
  restartMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the built CLI and interrupts it at `point`, watching from `watcher` (a separate
 * connection polling pg_stat_activity or the history every few ms). A restart point calls
 * `opts.restart`; the watcher's connection is then gone too.
 */
export async function runAndKill(
  args: string[],
  opts: { url: string; cwd: string; restart?: (mode: 'fast' | 'immediate') => Promise<number> },
  point: KillPoint,
  watcher: pg.ClientBase,
): Promise<KillOutcome> {
  const started = Date.now();
  const run = startCli(args, opts);
  let exited = false;
  const done = run.done.then((r) => {
    exited = true;
    return r;
  });
  let fired = false;
  let firedAtMs = 0;
  let restartMs: number | undefined;
  while (!exited) {
    if (await reached(point, watcher, Date.now() - started)) {
      if (exited) break;
      fired = true;
      firedAtMs = Date.now() - started;
      if (point.restart) {
        if (!opts.restart) throw new Error(`${point.label}: no server to restart`);
        restartMs = await opts.restart(point.restart);
      } else if (point.kind === 'terminate') {
        await watcher.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'dbops' AND pid <> pg_backend_pid()`,
        );
      } else run.child.kill('SIGKILL');
      break;
    }
    await sleep(point.kind === 'time' || point.kind === 'terminate' ? 2 : 5);
  }
  return { fired, firedAtMs, result: await done, restartMs };
}

async function reached(point: KillPoint, c: pg.ClientBase, elapsed: number): Promise<boolean> {
  switch (point.kind) {
    case 'time':
    case 'terminate':
      return elapsed >= point.ms;
    case 'query': {
      const { rows } = await c.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dbops'
            AND state = 'active' AND query ~* $1 AND pid <> pg_backend_pid() LIMIT 1`,
        [point.pattern],
      );
      return rows.length > 0;
    }
    case 'history': {
      const table = `dbops.${JSON.stringify(`migrations_${point.family}`)}`;
      const { rows } = await c.query(
        `SELECT CASE WHEN to_regclass($1) IS NULL THEN -1 ELSE
                  (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', $1), false, true, '')))[1]::text::int
                END AS n`,
        [table],
      );
      return rows[0].n === point.rows;
    }
  }
}

import type { TestProject } from 'vitest/node';
import { startEmbeddedServer } from '../../src/db/embedded.js';
import { DbopsError } from '../../src/errors.js';
import { chooseTestServer, isReachable, maskPassword } from './server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
  }
}

/**
 * Finds the PostgreSQL server for the integration run once (see chooseTestServer), starting an
 * embedded one if needed, and hands its URL to every file. Says on stderr which server it is.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const choice = await chooseTestServer(process.env, isReachable);
  if (choice.kind === 'url') {
    process.stderr.write(
      `dbops tests: PostgreSQL at ${maskPassword(choice.url)} (${choice.source})\n`,
    );
    project.provide('serverUrl', choice.url);
    return async () => {};
  }
  const started = Date.now();
  const server = await startEmbeddedServer().catch((err: unknown) => {
    // vitest prints only the message: keep the hint (what to install or run) in it.
    if (err instanceof DbopsError && err.hint) err.message += `\nhint: ${err.hint}`;
    throw err;
  });
  process.stderr.write(
    `dbops tests: embedded PostgreSQL on 127.0.0.1:${server.port}, data in ${server.dataDir}, ` +
      `started in ${((Date.now() - started) / 1000).toFixed(1)} s (${choice.reason})\n`,
  );
  project.provide('serverUrl', server.url);
  return () => server.stop();
}

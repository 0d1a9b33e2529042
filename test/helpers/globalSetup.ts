import type { TestProject } from 'vitest/node';
import { configuredServerUrl, isReachable } from './server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
  }
}

/** Finds the PostgreSQL server for the integration run once, and hands its URL to every file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const url = configuredServerUrl();
  if (!(await isReachable(url))) {
    throw new Error(
      `PostgreSQL is not reachable at ${url.replace(/:[^:@/]*@/, ':***@')}. Start it, or set TEST_DATABASE_URL.`,
    );
  }
  project.provide('serverUrl', url);
  return async () => {};
}

/**
 * node-pg-migrate is imported when a migration runs, not at start-up: loading it is about half
 * of the CLI's start-up time, which `check` and `resync` never need.
 */
export function loadNodePgMigrate(): Promise<typeof import('node-pg-migrate')> {
  return import('node-pg-migrate');
}

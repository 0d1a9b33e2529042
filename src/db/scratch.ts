import { randomBytes } from 'node:crypto';
import { type ConnectionSpec, openClient } from './connection.js';
import { quoteIdent } from './ident.js';

/**
 * A new, empty database next to the one `server` points at (the demo never touches existing
 * databases). drop() removes it, disconnecting anyone still connected.
 */
export async function createScratchDatabase(
  server: ConnectionSpec,
  prefix: string,
): Promise<{ name: string; spec: ConnectionSpec; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await openClient(server);
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    spec: { ...server, database: name },
    async drop() {
      const a = await openClient(server);
      try {
        await a.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where code runs from: the package root when vitest runs the TypeScript sources, or
 * `<root>/dist` when node runs the build. Migrations are loaded from here (compiled .js in dist).
 */
export const codeRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/** The package root: holds package.json and the TypeScript sources of migrations/ and checks/. */
export const packageRoot = codeRoot.endsWith(`${sep}dist`) ? dirname(codeRoot) : codeRoot;

/** Directory with a family's runnable migration files. */
export function migrationsDir(family: string): string {
  return join(codeRoot, 'migrations', family);
}

/** Directory with a family's migration sources (.ts): what `migrate create` writes, what checksums read. */
export function migrationSourcesDir(family: string): string {
  return join(packageRoot, 'migrations', family);
}

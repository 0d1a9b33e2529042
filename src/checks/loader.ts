import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareNames } from '../order.js';
import { codeRoot } from '../paths.js';
import type { Check } from './types.js';

const CHECK_FILE = /^[a-z0-9-]+\.(?:js|ts)$/;

/** Every check defined in checks/<family>/ (each file's default export: one check or a list), by id. */
export async function loadChecks(family: string): Promise<Check[]> {
  const dir = join(codeRoot, 'checks', family);
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => CHECK_FILE.test(f) && !f.endsWith('.d.ts'));
  // Imported together: one walk of the module graph instead of one per file.
  const modules = (await Promise.all(
    files.map((file) => import(pathToFileURL(join(dir, file)).href)),
  )) as { default: Check | Check[] }[];
  return modules.flatMap((mod) => [mod.default].flat()).sort((a, b) => compareNames(a.id, b.id));
}

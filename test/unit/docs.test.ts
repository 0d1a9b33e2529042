import { describe, expect, it } from 'vitest';
import { generatedDocs } from '../../scripts/docs.js';

describe('generated docs', () => {
  it('docs/cli.md and docs/checks.md match the code (run `npm run docs` when this fails)', async () => {
    const docs = await generatedDocs();
    expect(docs.map((d) => d.path)).toEqual(['docs/cli.md', 'docs/checks.md']);
    for (const doc of docs) {
      expect(doc.actual, `${doc.path} is out of date: run npm run docs`).toBe(doc.expected);
    }
  });

  it('the generated parts name every command and every check', async () => {
    const [cli, checks] = await generatedDocs();
    for (const command of ['dbops migrate up', 'dbops resync', 'dbops check skew', 'dbops demo'])
      expect(cli!.expected).toContain(`## \`${command}\``);
    for (const id of ['lookup.missing', 'partition.skew', 'checkpoint.both', 'sequence.gaps'])
      expect(checks!.expected).toContain(`| \`${id}\``);
  });
});

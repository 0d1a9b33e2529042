import { describe, expect, it } from 'vitest';
import { chooseTestServer, LOCAL_SERVER_URL } from '../helpers/server.js';

const ci = 'postgres://ci:secret@db:5432/test';
const app = 'postgres://app@db/app';

/** Reachability decided by the test: the listed URLs answer, nothing else does. */
const answering =
  (...urls: string[]) =>
  async (url: string) =>
    urls.includes(url);

describe('which server the integration tests use', () => {
  it.each([
    [
      'TEST_DATABASE_URL when it answers',
      { TEST_DATABASE_URL: ci, DATABASE_URL: app },
      [ci, app, LOCAL_SERVER_URL],
      { kind: 'url', url: ci, source: 'TEST_DATABASE_URL' },
    ],
    [
      'DATABASE_URL when it answers',
      { DATABASE_URL: app },
      [app, LOCAL_SERVER_URL],
      { kind: 'url', url: app, source: 'DATABASE_URL' },
    ],
    [
      'the local server when nothing is set and it answers',
      {},
      [LOCAL_SERVER_URL],
      { kind: 'url', url: LOCAL_SERVER_URL, source: 'local default' },
    ],
    [
      'the embedded server when nothing is set and the local server does not answer',
      {},
      [],
      { kind: 'embedded' },
    ],
    [
      'the embedded server when forced, even if a server answers',
      { DBOPS_TEST_EMBEDDED: '1', TEST_DATABASE_URL: ci },
      [ci, LOCAL_SERVER_URL],
      { kind: 'embedded', reason: 'DBOPS_TEST_EMBEDDED=1' },
    ],
  ] as const)('%s', async (_, env, up, expected) => {
    expect(await chooseTestServer(env, answering(...up))).toMatchObject(expected);
  });

  it.each([
    ['TEST_DATABASE_URL', { TEST_DATABASE_URL: ci }],
    ['DATABASE_URL', { DATABASE_URL: app }],
  ] as const)(
    'an explicit %s that does not answer fails, even if the local server would',
    async (name, env) => {
      const choice = chooseTestServer(env, answering(LOCAL_SERVER_URL));
      await expect(choice).rejects.toThrow(`(from ${name})`);
      await expect(choice).rejects.toThrow('DBOPS_TEST_EMBEDDED=1');
    },
  );

  it('masks the password in that message', async () => {
    const choice = chooseTestServer({ TEST_DATABASE_URL: ci }, answering());
    await expect(choice).rejects.toThrow('postgres://ci:***@db:5432/test');
    await expect(choice).rejects.not.toThrow('secret');
  });
});

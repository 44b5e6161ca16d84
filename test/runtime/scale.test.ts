/** A service with more secrets than one S3 listing page holds. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { envVarName } from '../../lib/naming.ts';
import { childReport, execChild, fingerprint, openStore, putSecrets, secretValue, type Store } from './support.ts';

const COUNT = 1_200;
let store: Store;
const secrets = Array.from({ length: COUNT }, (_, i) => ({ name: `secret-${String(i).padStart(4, '0')}`, value: secretValue(`s${i}`) }));

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, Object.fromEntries(secrets.map(({ name, value }) => [`big/${name}`, value])));
});
afterAll(() => store.close());

test('1,200 secrets of one service: two listing pages, every secret in the command’s environment', async () => {
  const before = store.endpoint.requests().length;
  const run = await execChild(store, ['--service', 'big'], [`print=${secrets.map((s) => envVarName(s.name)).join(',')}`]);

  expect(run.code).toBe(0);
  expect(run.stderr).not.toContain('MaxListenersExceededWarning');
  expect(childReport(run).fingerprints).toEqual(Object.fromEntries(secrets.map(({ name, value }) => [envVarName(name), fingerprint(value)])));
  const calls = store.endpoint.requests().slice(before);
  expect(calls.filter((r) => r.operation === 'ListObjectsV2')).toHaveLength(2);
  expect(calls.filter((r) => r.operation === 'Decrypt')).toHaveLength(COUNT);
});

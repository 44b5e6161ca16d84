/** loadSecrets(): the runtime as a library, for apps that load their secrets themselves. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { awsClients } from '../../lib/aws.ts';
import { TEST_CREDENTIALS } from '../../local/index.ts';
import { loadSecrets, SecretsLoadError, UsageError } from '../../runtime/index.ts';
import { fingerprint, openStore, putSecrets, REGION, secretValue, type Store } from './support.ts';

let store: Store;
const api = { dbPassword: secretValue('api-db'), apiKey: secretValue('api-key') };
const worker = { queueUrl: secretValue('worker-queue') };

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, {
    'api/db-password': api.dbPassword,
    'api/api-key': api.apiKey,
    'worker/queue-url': worker.queueUrl,
    'binary/cert.der': Buffer.from([0x30, 0x82, 0xff, 0x00]),
  });
});
afterAll(() => store.close());

function options(services: string[], deadlineMs?: number) {
  return {
    bucket: store.bucket,
    env: store.env,
    services,
    clients: awsClients({ endpoint: store.endpoint.url, region: REGION, credentials: TEST_CREDENTIALS }),
    deadlineMs,
  };
}

/** Fingerprints instead of values, so a failing assertion prints no secret. */
const fingerprints = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).map(([name, value]) => [name, fingerprint(value)]));

async function loadError(promise: Promise<unknown>): Promise<SecretsLoadError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SecretsLoadError);
  return error as SecretsLoadError;
}

describe('loadSecrets', () => {
  test('returns variable name → value for every secret of the services', async () => {
    const values = await loadSecrets(options(['api', 'worker']));

    expect(fingerprints(values)).toEqual({
      DB_PASSWORD: fingerprint(api.dbPassword),
      API_KEY: fingerprint(api.apiKey),
      QUEUE_URL: fingerprint(worker.queueUrl),
    });
  });

  test('throws SecretsLoadError listing every failure, with no value in its message', async () => {
    const error = await loadError(loadSecrets(options(['api', 'ghost', 'binary'])));

    expect(error.failures.map(({ subject, kind }) => ({ subject, kind }))).toEqual([
      { subject: 'binary/cert.der', kind: 'not-text' },
      { subject: 'ghost/*', kind: 'not-found' },
    ]);
    expect(error.message).toMatch(/^2 secrets could not be loaded:\n  binary\/cert.der: not text \(.*\)\n  ghost\/\*: not found \(/);
    for (const value of store.values) expect(error.message.includes(value)).toBe(false);
  });

  test('gives up at the deadline', async () => {
    // An answer ten minutes away: only the deadline ends the load.
    store.endpoint.faults.add({ operation: 'Decrypt', kind: 'latency', ms: 600_000 });
    try {
      const { failures } = await loadError(loadSecrets(options(['worker'], 300)));

      expect(failures).toEqual([{ subject: 'worker/queue-url', kind: 'deadline', cause: 'not loaded within the deadline of 0.3 s' }]);
    } finally {
      store.endpoint.faults.clear();
    }
  });

  test('refuses names that break the tree’s rules before any AWS call', async () => {
    await expect(loadSecrets(options(['API']))).rejects.toThrow(UsageError);
  });
});

describe('loadSecrets refuses options that cannot work, naming the option, before any AWS call', () => {
  test.each([
    ['deadlineMs -1', { deadlineMs: -1 }, 'loadSecrets: deadlineMs must be a number of milliseconds from 1 to 2147483647 (e.g. 30_000), not -1'],
    ['deadlineMs NaN', { deadlineMs: Number.NaN }, 'loadSecrets: deadlineMs must be a number of milliseconds from 1 to 2147483647 (e.g. 30_000), not NaN'],
    ['deadlineMs \'5s\'', { deadlineMs: '5s' }, 'loadSecrets: deadlineMs must be a number of milliseconds from 1 to 2147483647 (e.g. 30_000), not "5s"'],
    ['deadlineMs beyond a timer\'s reach', { deadlineMs: 2 ** 31 }, 'loadSecrets: deadlineMs must be a number of milliseconds from 1 to 2147483647 (e.g. 30_000), not 2147483648'],
    ['no services', { services: undefined }, "loadSecrets: services must be a list of service names, e.g. ['api'], not undefined"],
    ['services as a string', { services: 'api' }, "loadSecrets: services must be a list of service names, e.g. ['api'], not \"api\""],
    ['no bucket', { bucket: undefined }, 'loadSecrets: bucket must be a string, not undefined'],
    ['allowLoaderVariables as a string', { allowLoaderVariables: 'NODE_OPTIONS' }, "loadSecrets: allowLoaderVariables must be a list of variable names, e.g. ['NODE_OPTIONS'], not \"NODE_OPTIONS\""],
  ])('%s', async (_case, override, message) => {
    const asked = store.endpoint.requests().length;
    const error = await loadSecrets({ ...options(['api']), ...override } as Parameters<typeof loadSecrets>[0]).then(() => undefined, (e: unknown) => e);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(message);
    expect(store.endpoint.requests().length, 'no AWS call').toBe(asked);
  });
});

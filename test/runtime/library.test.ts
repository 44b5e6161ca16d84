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
    store.endpoint.faults.add({ operation: 'Decrypt', kind: 'latency', ms: 2_000 });
    try {
      const started = performance.now();
      const { failures } = await loadError(loadSecrets(options(['worker'], 300)));

      expect(failures).toEqual([{ subject: 'worker/queue-url', kind: 'deadline', cause: 'not loaded within the deadline of 0.3 s' }]);
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      store.endpoint.faults.clear();
    }
  });

  test('refuses names that break the tree’s rules before any AWS call', async () => {
    await expect(loadSecrets(options(['API']))).rejects.toThrow(UsageError);
  });
});

/**
 * The deadline is a promise: however the endpoint misbehaves — throttling without end (where the SDK's
 * adaptive retries wait between attempts and rate-limit themselves), 5xx, slow answers, or an endpoint that
 * accepts connections and never answers — exec, write and loadSecrets end at the deadline, fail closed, and
 * name the deadline as the cause.
 *
 * No test here times the run: a loaded machine would break any bound tight enough to matter. Each fault is one
 * that only the deadline can end (an answer ten minutes away, a server that never answers, throttling that
 * outlasts the SDK's attempts and would be reported as throttled, not as the deadline), so a run that ends, and
 * says the deadline ended it, proves it. How soon after the deadline it ends is `npm run bench`'s to measure.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { awsClients } from '../../lib/aws.ts';
import { TEST_CREDENTIALS, type FaultRule } from '../../local/index.ts';
import { EXIT_NOT_LOADED } from '../../runtime/cli.ts';
import { loadSecrets, SecretsLoadError } from '../../runtime/index.ts';
import { runCli } from '../support/cli.ts';
import { execChild, expectNoValueIn, openStore, putSecrets, REGION, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
let silent: Server;
let silentUrl: string;
const DEADLINE_S = 1;
/** Longer than any test may run: an answer this slow can only be cut short by the deadline. */
const NEVER_MS = 600_000;

beforeAll(async () => {
  store = await openStore();
  // Enough secrets that the adaptive rate limiter queues them once throttling starts.
  await putSecrets(store, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`api/secret-${i}`, secretValue(`api-${i}`)])));
  silent = createServer(() => {}); // accepts, reads, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
  await store.close();
});

/** Each mix, and the line that names the throttling that held the start (none where nothing throttled). */
const mixes: [name: string, faults: FaultRule[], throttling: RegExp | undefined][] = [
  ['KMS throttling without end', [{ operation: 'Decrypt', kind: 'throttle' }], /KMS answered \d+ requests? with ThrottlingException/],
  ['S3 throttling without end', [{ operation: 'GetObject', kind: 'throttle' }], /S3 answered \d+ requests? with SlowDown/],
  ['throttled listings', [{ operation: 'ListObjectsV2', kind: 'throttle' }], /S3 answered \d+ requests? with SlowDown/],
  // Two 500s: the first GetObject, the declared list's, is retried before any ciphertext is fetched.
  ['5xx and throttling together', [{ operation: 'GetObject', kind: 'error500', times: 2 }, { operation: 'Decrypt', kind: 'throttle' }], /KMS answered \d+ requests? with ThrottlingException/],
  ['answers that take ten minutes', [{ operation: 'Decrypt', kind: 'latency', ms: NEVER_MS }], undefined],
];

async function withFaults<T>(faults: FaultRule[], run: () => Promise<T>): Promise<T> {
  for (const fault of faults) store.endpoint.faults.add(fault);
  try {
    return await run();
  } finally {
    store.endpoint.faults.clear();
  }
}

describe('exec ends within the deadline, fails closed and says so', () => {
  test.each(mixes)('under %s', async (_name, faults, throttling) => {
    const run = await withFaults(faults, () => execChild(store, ['--service', 'api', '--deadline', String(DEADLINE_S)]));

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toMatch(/deadline exceeded \(not loaded within the deadline of 1 s\)/);
    // Throttling is named as what held the start, with what to do about a fleet that outgrew its quota.
    if (throttling) {
      expect(run.stderr).toMatch(throttling);
      expect(run.stderr).toMatch(/the account's request quota is shared by every task starting now\nhint: a fleet needs about tasks × secrets ÷ the Region's KMS quota seconds .*--deadline.*batches.*Service Quotas/);
    } else {
      expect(run.stderr).not.toMatch(/throttled:|hint:/);
    }
  });

  test('against an endpoint that never answers', async () => {
    const run = await execChild(store, ['--service', 'api', '--deadline', String(DEADLINE_S)], [], runtimeEnv(store, { AWS_ENDPOINT_URL: silentUrl }));

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toMatch(/api\/\*: deadline exceeded/);
  });
});

describe('write and loadSecrets keep the same promise', () => {
  test('write under KMS throttling writes nothing and ends at the deadline', async () => {
    const run = await withFaults([{ operation: 'Decrypt', kind: 'throttle' }], () =>
      runCli(['write', '--dir', join(store.scratch, 'throttled'), '--service', 'api', '--deadline', String(DEADLINE_S)], { cwd: store.scratch, env: runtimeEnv(store) }));
    expectNoValueIn(store, run);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toMatch(/deadline exceeded \(not loaded within the deadline of 1 s\)/);
  });

  test('loadSecrets under KMS throttling rejects at the deadline', async () => {
    const clients = awsClients({ endpoint: store.endpoint.url, region: REGION, credentials: TEST_CREDENTIALS });
    const error = await withFaults([{ operation: 'Decrypt', kind: 'throttle' }], () =>
      loadSecrets({ bucket: store.bucket, env: store.env, services: ['api'], clients, deadlineMs: DEADLINE_S * 1000 }).catch((e: unknown) => e));
    clients.destroy();

    expect(error).toBeInstanceOf(SecretsLoadError);
    expect((error as SecretsLoadError).failures.every((failure) => failure.kind === 'deadline')).toBe(true);
    expect((error as SecretsLoadError).message).toMatch(/\nthrottled: KMS answered \d+ requests? with ThrottlingException during this load/);
    expect((error as SecretsLoadError).hint).toMatch(/Cryptographic operations \(symmetric\) request rate/);
  });
});

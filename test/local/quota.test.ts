/**
 * The local endpoint's request quotas, as AWS enforces them: KMS's account-wide rate for cryptographic
 * calls (ThrottlingException above it) and S3's GET rate per prefix (SlowDown), through real SDK clients;
 * and a small fleet of tasks starting at once under the KMS quota, each with its own clients and retry
 * state as separate tasks have: every one starts.
 */
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { declaredListContent, declaredListKey } from '../../lib/declared.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { awsClients } from '../../lib/aws.ts';
import { encryptSecret } from '../../lib/cipher.ts';
import { ACCOUNT_ID, start, TEST_CREDENTIALS, type LocalEndpoint, type QuotaSettings, type RequestLogEntry } from '../../local/index.ts';
import { loadSecrets, SecretsLoadError } from '../../runtime/index.ts';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REGION = 'us-east-1';
let endpoint: LocalEndpoint | undefined;
let dir: string | undefined;
afterEach(async () => {
  await endpoint?.stop();
  endpoint = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function withQuotas(quotas: QuotaSettings) {
  dir = mkdtempSync(join(tmpdir(), 'local-aws-quota-'));
  endpoint = await start({ dir, quotas });
  // One attempt: the quota's own answers, not the SDK's retries of them.
  return awsClients({ endpoint: endpoint.url, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
}

const outcomes = (results: PromiseSettledResult<unknown>[]) => ({
  ok: results.filter((r) => r.status === 'fulfilled').length,
  errors: [...new Set(results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).name] : [])))],
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The most a bucket of `rate` per second, holding one second, can have served these requests over the time the
 * request log shows them in the endpoint (from the first arrival to the last answer). A loaded machine spreads a
 * burst out and the bucket refills meanwhile; this bound grows with it, so load cannot break it.
 */
function mostServed(rate: number, entries: readonly RequestLogEntry[]): number {
  const start = Math.min(...entries.map((entry) => Date.parse(entry.time)));
  const end = Math.max(...entries.map((entry) => Date.parse(entry.time) + entry.durationMs));
  // +1: the log's times are whole milliseconds.
  return Math.floor(rate + (rate * (end - start)) / 1000) + 1;
}

describe('the KMS request quota', () => {
  it('answers ThrottlingException to cryptographic calls over the rate, serves the rest, and logs each throttle', async () => {
    const clients = await withQuotas({ kmsPerSecond: 5 });
    const { KeyMetadata } = await clients.kms.send(new CreateKeyCommand({}));
    const encrypt = () => clients.kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId!, Plaintext: Buffer.from('x'), EncryptionContext: { env: 'demo' } }));
    const burst = outcomes(await Promise.allSettled(Array.from({ length: 60 }, encrypt)));
    const encrypts = endpoint!.requests().filter((r) => r.operation === 'Encrypt');

    // The bucket starts full: a second's worth is served at once, and no more than it refills meanwhile.
    expect(burst.ok).toBeGreaterThanOrEqual(5);
    expect(burst.ok).toBeLessThanOrEqual(mostServed(5, encrypts));
    expect(burst.errors).toEqual(['ThrottlingException']);
    expect(encrypts.filter((r) => r.throttled === 'kms')).toHaveLength(60 - burst.ok);
    // Calls that use no key material are not in the quota.
    expect(outcomes(await Promise.allSettled(Array.from({ length: 30 }, () => clients.kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId! })))))).toEqual({ ok: 30, errors: [] });
    // A second later the bucket has refilled.
    await sleep(1_100);
    expect(outcomes(await Promise.allSettled(Array.from({ length: 5 }, encrypt)))).toEqual({ ok: 5, errors: [] });
  });

  it('is off by default', async () => {
    const clients = await withQuotas({});
    const { KeyMetadata } = await clients.kms.send(new CreateKeyCommand({}));
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => clients.kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId!, Plaintext: Buffer.from('x'), EncryptionContext: { env: 'demo' } }))));
    expect(outcomes(results)).toEqual({ ok: 200, errors: [] });
  });

  it('refuses a quota that is not a positive rate, before it opens any file in its directory', async () => {
    await expect(withQuotas({ kmsPerSecond: 0 })).rejects.toThrow(/quota kmsPerSecond must be a positive number of requests per second/);
    expect(readdirSync(dir!)).toEqual([]);
  });
});

describe('the S3 GET rate per prefix', () => {
  it('answers SlowDown over the rate of one prefix; another prefix has its own', async () => {
    const clients = await withQuotas({ s3GetPerSecondPerPrefix: 5 });
    await clients.s3.send(new CreateBucketCommand({ Bucket: 'quota-test' }));
    for (const key of ['api/a', 'web/a']) await clients.s3.send(new PutObjectCommand({ Bucket: 'quota-test', Key: key, Body: 'ciphertext' }));
    const get = (key: string) => clients.s3.send(new GetObjectCommand({ Bucket: 'quota-test', Key: key }));
    const api = outcomes(await Promise.allSettled(Array.from({ length: 60 }, () => get('api/a'))));
    const apiGets = endpoint!.requests().filter((r) => r.operation === 'GetObject');
    const web = outcomes(await Promise.allSettled(Array.from({ length: 5 }, () => get('web/a'))));

    expect(api.ok).toBeGreaterThanOrEqual(5);
    expect(api.ok).toBeLessThanOrEqual(mostServed(5, apiGets));
    expect(api.errors).toEqual(['SlowDown']);
    expect(web).toEqual({ ok: 5, errors: [] });
    expect(endpoint!.requests().filter((r) => r.throttled === 's3-prefix')).toHaveLength(60 - api.ok);
  });
});

/** The api service's declared list, naming secret-0 … secret-<count - 1>, as the stack's apply writes it. */
async function declareApi(clients: { s3: S3Client }, count: number, keyId: string): Promise<void> {
  const secrets = Array.from({ length: count }, (_, i) => `secret-${i}`);
  const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${keyId}`;
  await clients.s3.send(new PutObjectCommand({ Bucket: 'kms-secrets-demo-secrets', Key: declaredListKey('api'), Body: declaredListContent({ env: 'demo', service: 'api', secrets, keyArn }) }));
}

describe('a fleet starting at once under the KMS quota', () => {
  it('20 tasks × 10 secrets at 50 Decrypts/s: every task starts, throttled and retried, within its deadline', async () => {
    const TASKS = 20;
    const SECRETS = 10;
    const seed = await withQuotas({ kmsPerSecond: 50 });
    const keyId = (await seed.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await seed.s3.send(new CreateBucketCommand({ Bucket: 'kms-secrets-demo-secrets' }));
    for (let i = 0; i < SECRETS; i++) {
      const { ciphertext } = await encryptSecret(seed.kms, keyId, { env: 'demo', service: 'api', name: `secret-${i}` }, Buffer.from(`value-${i}`));
      await seed.s3.send(new PutObjectCommand({ Bucket: 'kms-secrets-demo-secrets', Key: `api/secret-${i}`, Body: ciphertext }));
    }
    await declareApi(seed, SECRETS, keyId);
    await sleep(1_100); // the seeding's Encrypts came out of the same quota
    const before = endpoint!.requests().length;

    // Each task as its own process would be: its own clients, connection pool and adaptive-retry state.
    const starts = await Promise.allSettled(Array.from({ length: TASKS }, async () => {
      const clients = awsClients({ endpoint: endpoint!.url, region: REGION, credentials: TEST_CREDENTIALS });
      try {
        return Object.keys(await loadSecrets({ bucket: 'kms-secrets-demo-secrets', env: 'demo', services: ['api'], clients })).length;
      } finally {
        clients.destroy();
      }
    }));

    expect(starts.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason))).toEqual([]);
    expect(starts.map((s) => (s as PromiseFulfilledResult<number>).value)).toEqual(Array(TASKS).fill(SECRETS));
    const decrypts = endpoint!.requests().slice(before).filter((r) => r.operation === 'Decrypt');
    expect(decrypts.filter((r) => !r.error)).toHaveLength(TASKS * SECRETS);
    expect(decrypts.filter((r) => r.throttled === 'kms').length, 'the quota was reached').toBeGreaterThan(0);
  }, 60_000);

  it('a start the quota holds past its deadline fails closed, and says KMS throttled it and how often', async () => {
    await withQuotas({ kmsPerSecond: 5 });
    const seed = awsClients({ endpoint: endpoint!.url, region: REGION, credentials: TEST_CREDENTIALS });
    const keyId = (await seed.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await seed.s3.send(new CreateBucketCommand({ Bucket: 'kms-secrets-demo-secrets' }));
    for (let i = 0; i < 12; i++) {
      const { ciphertext } = await encryptSecret(seed.kms, keyId, { env: 'demo', service: 'api', name: `secret-${i}` }, Buffer.from(`value-${i}`));
      await seed.s3.send(new PutObjectCommand({ Bucket: 'kms-secrets-demo-secrets', Key: `api/secret-${i}`, Body: ciphertext }));
    }
    await declareApi(seed, 12, keyId);
    seed.destroy();
    await sleep(1_100);
    const before = endpoint!.requests().length;

    const clients = awsClients({ endpoint: endpoint!.url, region: REGION, credentials: TEST_CREDENTIALS });
    const error = await loadSecrets({ bucket: 'kms-secrets-demo-secrets', env: 'demo', services: ['api'], clients, deadlineMs: 1_000 }).catch((e: unknown) => e);
    clients.destroy();

    expect(error).toBeInstanceOf(SecretsLoadError);
    const failure = error as SecretsLoadError;
    expect(failure.failures.length, 'at most a second of the quota was loaded').toBeGreaterThanOrEqual(12 - 10);
    expect(failure.failures.every((f) => f.kind === 'deadline')).toBe(true);
    const counted = Number(/KMS answered (\d+) requests? with ThrottlingException/.exec(failure.throttling ?? '')?.[1]);
    const logged = endpoint!.requests().slice(before).filter((r) => r.throttled === 'kms').length;
    // Each throttle the task got is counted; one the deadline cut off on its way back is not.
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(logged);
    expect(failure.hint).toMatch(/tasks × secrets ÷ the Region's KMS quota .*--deadline.*batches.*Service Quotas/);
  }, 30_000);
});

/**
 * Fail closed: whenever a secret cannot be loaded the command never starts, the exit code is 78 and
 * stderr has one line per failure naming the secret and the kind of cause. And what is only transient
 * (throttling, 500s) is retried to success.
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { encryptSecret } from '../../lib/cipher.ts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ACCOUNT_ID } from '../../local/index.ts';
import { EXIT_NOT_LOADED } from '../../runtime/cli.ts';
import { loadBucketSecrets } from '../../runtime/load.ts';
import { roleWithPolicy } from '../support/roles.ts';
import { childReport, declare, execChild, fingerprint, openStore, putSecrets, REGION, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
const dbPassword = secretValue('api-db');

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, {
    'api/db-password': dbPassword,
    'web/session-key': secretValue('web-session'),
  });
});
afterAll(() => store.close());

/** The task role of a service as the stack draws it: its own prefix, its own encryption context. */
function serviceStatements(service: { list: string; read: string; decrypt: string }) {
  const bucketArn = `arn:aws:s3:::${store.bucket}`;
  return [
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': `${service.list}/*` } } },
    { Effect: 'Allow', Action: 's3:GetObject', Resource: [`${bucketArn}/${service.read}/*`, `${bucketArn}/.declared/${service.read}.json`] },
    {
      Effect: 'Allow', Action: 'kms:Decrypt', Resource: `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${store.keyId}`,
      Condition: { StringEquals: { 'kms:EncryptionContext:service': service.decrypt, 'kms:EncryptionContext:env': store.env } },
    },
  ];
}

function expectNotStarted(run: { code: number | null; childRan: boolean; stderr: string }, line: RegExp): void {
  expect(run.childRan).toBe(false);
  expect(run.code).toBe(EXIT_NOT_LOADED);
  expect(run.stderr).toMatch(line);
  expect(run.stderr).toMatch(/kms-secrets: \d+ secrets? could not be loaded; the command was not started\n/);
}

describe('the command never starts when', () => {
  test('the service has no secrets in the bucket', async () => {
    const run = await execChild(store, ['--service', 'ghost']);

    expectNotStarted(run, /kms-secrets: ghost\/\*: not found \(no secrets under s3:\/\/[\w-]+\/ghost\//);
  });

  test('the task role may not list another service’s prefix (AccessDenied)', async () => {
    const web = await roleWithPolicy(store.endpoint.url, 'web-task', serviceStatements({ list: 'web', read: 'web', decrypt: 'web' }));
    const run = await execChild(store, ['--service', 'api'], [], runtimeEnv(store, {}, web));

    expectNotStarted(run, /kms-secrets: api\/\*: AccessDenied \(AccessDenied: User: arn:aws:sts::\d+:assumed-role\/web-task\/test is not authorized to perform: s3:ListBucket/);
  });

  test('the task role may read the objects but not decrypt another service’s ciphertext (AccessDenied)', async () => {
    const leaky = await roleWithPolicy(store.endpoint.url, 'leaky-task', serviceStatements({ list: 'api', read: 'api', decrypt: 'web' }));
    const run = await execChild(store, ['--service', 'api'], [], runtimeEnv(store, {}, leaky));

    expectNotStarted(run, /kms-secrets: api\/db-password: AccessDenied \(AccessDeniedException: .* kms:Decrypt/);
  });

  test.each([
    ['a KMS blob', 64],
    ['an Encryption SDK envelope', 5_000],
  ])('the ciphertext (%s) was made under a key of the writer\'s own, for a role that may decrypt under any key', async (_format, size) => {
    // Whoever may put objects (the deployer, who may use no KMS key of the env) brings a key of their own.
    const ownKey = (await store.clients.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const value = secretValue('own-key').padEnd(size, 'x');
    store.values.add(value);
    await declare(store, ['owned/token']);
    const { ciphertext } = await encryptSecret(store.clients.kms, ownKey, { env: store.env, service: 'owned', name: 'token' }, Buffer.from(value));
    await store.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'owned/token', Body: ciphertext }));
    const anyKey = await roleWithPolicy(store.endpoint.url, `any-key-${size}`, [
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${store.bucket}` },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${store.bucket}/*` },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' },
    ]);
    const run = await execChild(store, ['--service', 'owned'], [], runtimeEnv(store, {}, anyKey));

    expectNotStarted(run, /kms-secrets: owned\/token: context mismatch \(/);
  });

  test.each([
    ['a KMS blob', 64],
    ['an Encryption SDK envelope', 5_000],
  ])('the ciphertext (%s) was made for another service and copied under this one (context mismatch)', async (_format, size) => {
    // Encrypted for web/session-key, uploaded as moved/session-key.
    await putSecrets(store, { 'moved/session-key': secretValue('moved').padEnd(size, 'x') }, (path) => ({ env: store.env, service: 'web', name: path.split('/')[1]! }));
    const run = await execChild(store, ['--service', 'moved']);

    expectNotStarted(run, /kms-secrets: moved\/session-key: context mismatch \(/);
  });

  test('an envelope moved under the task role\'s own service: context mismatch, before KMS is asked', async () => {
    await putSecrets(store, { 'api/moved-cert': secretValue('moved-cert').padEnd(5_000, 'x') }, (path) => ({ env: store.env, service: 'web', name: path.split('/')[1]! }));
    const api = await roleWithPolicy(store.endpoint.url, 'api-task-envelope', serviceStatements({ list: 'api', read: 'api', decrypt: 'api' }));
    const run = await execChild(store, ['--service', 'api'], [], runtimeEnv(store, {}, api));
    await store.clients.s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: 'api/moved-cert' }));

    expectNotStarted(run, /kms-secrets: api\/moved-cert: context mismatch \(secret api\/moved-cert \(env staging\): the envelope was encrypted for another place \(encryption context service differs\)\)/);
  });

  test('an envelope the task role may not decrypt: AccessDenied, as for a KMS blob', async () => {
    await putSecrets(store, { 'api/tls-cert': secretValue('tls-cert').padEnd(5_000, 'x') });
    const leaky = await roleWithPolicy(store.endpoint.url, 'leaky-task-envelope', serviceStatements({ list: 'api', read: 'api', decrypt: 'web' }));
    const run = await execChild(store, ['--service', 'api'], [], runtimeEnv(store, {}, leaky));
    await store.clients.s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: 'api/tls-cert' }));

    expectNotStarted(run, /kms-secrets: api\/tls-cert: AccessDenied \(AccessDeniedException: .*kms:Decrypt/);
  });

  test('an object is not ciphertext, and its content is not shown', async () => {
    const plaintext = secretValue('plaintext-by-mistake');
    store.values.add(plaintext);
    await store.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'careless/api-key', Body: plaintext }));
    await declare(store, ['careless/api-key']);
    const run = await execChild(store, ['--service', 'careless']);

    expectNotStarted(run, /kms-secrets: careless\/api-key: not ciphertext \(/);
  });

  test('KMS keeps throttling past the deadline', async () => {
    store.endpoint.faults.add({ operation: 'Decrypt', kind: 'throttle' });
    try {
      const run = await execChild(store, ['--service', 'api', '--deadline', '1.5']);

      // Named as the deadline, not as throttling: the SDK's attempts had not run out (deadline.test.ts).
      expectNotStarted(run, /kms-secrets: api\/db-password: deadline exceeded \(not loaded within the deadline of 1.5 s\)/);
    } finally {
      store.endpoint.faults.clear();
    }
  });

  test('the endpoint is down (after the SDK’s 8 attempts, about 5 s)', async () => {
    const run = await execChild(store, ['--service', 'api'], [], runtimeEnv(store, { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }));

    expectNotStarted(run, /kms-secrets: api\/\*: endpoint unreachable \(Error: connect ECONNREFUSED 127.0.0.1:1\)/);
  });

  test('several secrets fail: each has its own line', async () => {
    const run = await execChild(store, ['--service', 'api', '--service', 'ghost', '--service', 'careless']);

    expect(run.stderr.match(/^kms-secrets: (careless\/api-key|ghost\/\*): /gm)).toHaveLength(2);
    expectNotStarted(run, /2 secrets could not be loaded/);
  });
});

describe('transient failures', () => {
  test('throttling and 500s of every call are retried until the secrets load', async () => {
    // Few of each: the SDK backs off about a second per throttled attempt.
    store.endpoint.faults.add({ operation: 'ListObjectsV2', kind: 'error500', times: 1 });
    store.endpoint.faults.add({ operation: 'GetObject', kind: 'throttle', times: 1 });
    store.endpoint.faults.add({ operation: 'GetObject', kind: 'error500', times: 2 });
    store.endpoint.faults.add({ operation: 'Decrypt', kind: 'throttle', times: 1 });
    store.endpoint.faults.add({ operation: 'Decrypt', kind: 'error500', times: 1 });
    const before = store.endpoint.requests().length;
    try {
      const run = await execChild(store, ['--service', 'api'], ['print=DB_PASSWORD']);

      expect(run.code).toBe(0);
      expect(childReport(run).fingerprints.DB_PASSWORD).toBe(fingerprint(dbPassword));
      expect(store.endpoint.requests().slice(before).filter((r) => r.fault).map((r) => r.operation).sort())
        .toEqual(['Decrypt', 'Decrypt', 'GetObject', 'GetObject', 'GetObject', 'ListObjectsV2']);
    } finally {
      store.endpoint.faults.clear();
    }
  });

  test('every throttled attempt is counted, by service, as the endpoint answered it: the count the failure message gives', async () => {
    store.endpoint.faults.add({ operation: 'GetObject', kind: 'throttle', times: 2 });
    store.endpoint.faults.add({ operation: 'Decrypt', kind: 'throttle', times: 3 });
    const before = store.endpoint.requests().length;
    try {
      const load = await loadBucketSecrets({ bucket: store.bucket, env: store.env, services: ['api'] }, store.clients, new AbortController().signal);

      expect(load.failures).toEqual([]);
      expect(load.throttles).toEqual({ kms: 3, s3: 2 });
      expect(store.endpoint.requests().slice(before).filter((r) => r.fault === 'throttle')).toHaveLength(5);
    } finally {
      store.endpoint.faults.clear();
    }
  });
});

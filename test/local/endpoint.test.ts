import { CreateKeyCommand, DecryptCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { awsClients } from '../../lib/aws.ts';
import { start, TEST_CREDENTIALS } from '../../local/index.ts';
import { REGION, startEndpoint, type TestEndpoint } from './support.ts';

const opened: TestEndpoint[] = [];
async function endpoint(dir?: string): Promise<TestEndpoint> {
  const local = await startEndpoint(dir);
  opened.push(local);
  return local;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((local) => local.close()));
});

describe('state', () => {
  it('survives a restart: keys still decrypt and objects are still there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-aws-'));
    const first = await start({ dir });
    const before = awsClients({ endpoint: first.url, region: REGION, credentials: TEST_CREDENTIALS });
    const { KeyMetadata } = await before.kms.send(new CreateKeyCommand({}));
    const { CiphertextBlob } = await before.kms.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: Buffer.from('kept'), EncryptionContext: { env: 'dev' } }));
    await before.s3.send(new CreateBucketCommand({ Bucket: 'kept-bucket' }));
    await before.s3.send(new PutObjectCommand({ Bucket: 'kept-bucket', Key: 'api/x', Body: 'kept object' }));
    await first.stop();

    const after = await endpoint(dir);
    const { Plaintext } = await after.clients().kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { env: 'dev' } }));
    expect(Buffer.from(Plaintext!).toString()).toBe('kept');
    const object = await after.clients().s3.send(new GetObjectCommand({ Bucket: 'kept-bucket', Key: 'api/x' }));
    expect(await object.Body!.transformToString()).toBe('kept object');
  });

  it('is written with mode 0600 in a 0700 folder', async () => {
    const local = await endpoint();
    await local.clients().kms.send(new CreateKeyCommand({}));
    expect(statSync(local.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(local.dir, 'kms.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(local.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('fault injection', () => {
  it('throttles with KMS ThrottlingException, which the SDK retries to success when it is brief', async () => {
    const local = await endpoint();
    const kms = local.clients().kms;
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    local.endpoint.faults.add({ operation: 'Encrypt', kind: 'throttle', times: 2 });
    const result = await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: Buffer.from('x') }));
    expect(result.$metadata.attempts).toBe(3);
    const encrypts = local.endpoint.requests().filter((r) => r.operation === 'Encrypt');
    expect(encrypts.map((r) => [r.status, r.error])).toEqual([[400, 'ThrottlingException'], [400, 'ThrottlingException'], [200, undefined]]);
  });

  it('throttles S3 with 503 SlowDown, and fails with 500s until the rule is used up', async () => {
    const local = await endpoint();
    const s3 = local.clients().s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'faulty' }));
    local.endpoint.faults.add({ operation: 'PutObject', kind: 'throttle', times: 1 });
    local.endpoint.faults.add({ operation: 'PutObject', kind: 'error500', times: 1 });
    const put = await s3.send(new PutObjectCommand({ Bucket: 'faulty', Key: 'k', Body: 'v' }));
    expect(put.$metadata.attempts).toBe(3);
    expect(local.endpoint.requests().filter((r) => r.operation === 'PutObject').map((r) => r.error)).toEqual(['SlowDown', 'InternalError', undefined]);
  });

  it('adds latency, and clear() removes every rule', async () => {
    const local = await endpoint();
    const kms = local.clients().kms;
    local.endpoint.faults.add({ operation: 'CreateKey', kind: 'latency', ms: 300 });
    const started = performance.now();
    await kms.send(new CreateKeyCommand({}));
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    local.endpoint.faults.clear();
    expect(local.endpoint.faults.list()).toEqual([]);
  });

  it('ends a slow answer\'s wait when its client hangs up: the request is logged as abandoned (499), nothing is done', async () => {
    const local = await endpoint();
    local.endpoint.faults.add({ operation: 'CreateKey', kind: 'latency', ms: 600_000 });
    const { kms, destroy } = awsClients({ endpoint: local.endpoint.url, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    const gaveUp = await kms.send(new CreateKeyCommand({}), { abortSignal: AbortSignal.timeout(200) }).catch((error: unknown) => error);
    destroy();

    expect((gaveUp as Error).name).toBe('AbortError');
    await expect.poll(() => local.endpoint.requests().filter((r) => r.operation === 'CreateKey').map((r) => r.status), { timeout: 30_000 }).toEqual([499]);
    local.endpoint.faults.clear();
    expect((await local.clients().kms.send(new ListKeysCommand({}))).Keys).toEqual([]);
  });

  it('can be set from another process through POST /_local/faults', async () => {
    const local = await endpoint();
    const response = await fetch(`${local.endpoint.url}/_local/faults`, { method: 'POST', body: JSON.stringify({ operation: 'ListKeys', kind: 'error500' }) });
    expect(response.status).toBe(204);
    expect(local.endpoint.faults.list()).toEqual([{ operation: 'ListKeys', kind: 'error500' }]);
  });
});

describe('the request log', () => {
  it('records service, operation, access key, principal and status, but never a payload or value', async () => {
    const local = await endpoint();
    const kms = local.clients().kms;
    const marker = 'plaintext-marker-7f3a';
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: Buffer.from(marker), EncryptionContext: { marker } }));
    await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { marker } }));
    await local.endpoint.stop();
    opened.splice(opened.indexOf(local), 1);

    expect(local.endpoint.requests().map((r) => [r.service, r.operation, r.accessKeyId, r.principal, r.status])).toEqual([
      ['kms', 'CreateKey', 'test', 'arn:aws:iam::000000000000:root', 200],
      ['kms', 'Encrypt', 'test', 'arn:aws:iam::000000000000:root', 200],
      ['kms', 'Decrypt', 'test', 'arn:aws:iam::000000000000:root', 200],
    ]);
    const file = readFileSync(join(local.dir, 'requests.log'), 'utf8');
    expect(file.trim().split('\n').map((line) => JSON.parse(line).operation)).toEqual(['CreateKey', 'Encrypt', 'Decrypt']);
    expect(file).not.toContain(marker);
    expect(JSON.stringify(local.endpoint.requests())).not.toContain(marker);
    rmSync(local.dir, { recursive: true, force: true });
  });
});

describe('binding', () => {
  it('refuses a non-loopback address unless told explicitly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-aws-'));
    await expect(start({ dir, host: '0.0.0.0' })).rejects.toThrow(/Refusing to bind the local AWS endpoint to 0\.0\.0\.0/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 on a free port by default', async () => {
    const local = await endpoint();
    expect(local.endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

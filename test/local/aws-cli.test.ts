/** The real `aws` CLI against the endpoint, by --endpoint-url only. */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CREDENTIALS } from '../../local/index.ts';
import { REGION, runCommand, startEndpoint, toolAvailable, type TestEndpoint } from './support.ts';

const hasCli = toolAvailable('aws');

describe.skipIf(!hasCli)('the aws CLI', () => {
  let local: TestEndpoint;
  let work: string;

  beforeAll(async () => {
    local = await startEndpoint();
    work = mkdtempSync(join(tmpdir(), 'aws-cli-'));
  });
  afterAll(async () => {
    await local.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function aws(...args: string[]): Promise<string> {
    const result = await runCommand('aws', ['--endpoint-url', local.endpoint.url, ...args], {
      cwd: work,
      env: {
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: REGION,
        AWS_CONFIG_FILE: join(work, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_PAGER: '',
      },
    });
    if (result.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  it('encrypts and decrypts with kms encrypt/decrypt and an encryption context', async () => {
    const keyArn = (await aws('kms', 'create-key', '--query', 'KeyMetadata.Arn', '--output', 'text')).trim();
    writeFileSync(join(work, 'secret.txt'), 'cli secret');
    const context = 'env=staging,service=api,secret=password';
    const ciphertext = await aws('kms', 'encrypt', '--key-id', keyArn, '--plaintext', 'fileb://secret.txt', '--encryption-context', context, '--query', 'CiphertextBlob', '--output', 'text');
    writeFileSync(join(work, 'secret.enc'), Buffer.from(ciphertext.trim(), 'base64'));
    const plaintext = await aws('kms', 'decrypt', '--ciphertext-blob', 'fileb://secret.enc', '--encryption-context', context, '--query', 'Plaintext', '--output', 'text');
    expect(Buffer.from(plaintext.trim(), 'base64').toString()).toBe('cli secret');
  });

  it('copies and lists objects with s3 cp and s3 ls', async () => {
    writeFileSync(join(work, 'password.enc'), 'ciphertext from the cli');
    await aws('s3', 'mb', 's3://cli-bucket');
    await aws('s3', 'cp', 'password.enc', 's3://cli-bucket/api/password');
    const listing = await aws('s3', 'ls', 's3://cli-bucket/api/');
    expect(listing).toMatch(/\s23 password\n$/);
    expect(await aws('s3', 'ls', 's3://cli-bucket/')).toContain('PRE api/');
    expect(await aws('s3', 'cp', 's3://cli-bucket/api/password', '-')).toBe('ciphertext from the cli');
    const head = await local.clients().s3.send(new HeadObjectCommand({ Bucket: 'cli-bucket', Key: 'api/password' }));
    expect(head.ETag).toBe(`"${createHash('md5').update('ciphertext from the cli').digest('hex')}"`);
  });
});

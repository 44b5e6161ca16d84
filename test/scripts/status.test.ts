/**
 * `kms-secrets status`: what the bucket serves against what git holds, per secret, from listings alone —
 * no decryption, no KMS call, and with nothing more than the read rights CI has.
 */
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { StatusRow } from '../../lib/deploy-status.ts';
import type { TestProject } from '../support/project.ts';
import { credentialsEnv, roleWithPolicy } from '../support/roles.ts';
import { cli, localProject, startAws, type Aws } from './support.ts';

const BUCKET = 'kms-secrets-demo-secrets';
let aws: Aws;
let project: TestProject;
beforeAll(async () => {
  aws = await startAws();
  await aws.clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await aws.clients.s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
});
afterAll(() => aws.close());
afterEach(async () => {
  project?.remove();
  // Each test starts from an empty bucket (deleted objects leave delete markers, which status does not count).
  const { Contents } = await aws.clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  for (const { Key } of Contents ?? []) await aws.clients.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
});

const ciphertext = (name: string) => readFileSync(join(project.root, 'secrets', 'demo', 'api', name));
const upload = (key: string, body: Buffer | string) => aws.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const kmsCalls = () => aws.endpoint.requests().filter((r) => r.service === 'kms').length;

async function status(args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const run = await cli(aws, project, ['status', ...args], { env });
  return { ...run, rows: args.includes('--json') ? (JSON.parse(run.stdout) as { secrets: StatusRow[] }).secrets : [] };
}

describe('kms-secrets status', () => {
  test('each state, with both sides: in sync, changed in git, deployed but removed from git, missing from the bucket; exit 1', async () => {
    project = localProject();
    for (const name of ['in-sync', 'changed', 'missing']) await cli(aws, project, ['encrypt', `api/${name}`], { input: `value of ${name}` });
    await upload('api/in-sync', ciphertext('in-sync'));
    await upload('api/changed', 'the ciphertext deployed before the rotation');
    await upload('api/removed', 'a secret deleted from git, still served');
    const before = kmsCalls();
    const run = await status(['--json']);

    expect(run.code, run.stderr).toBe(1);
    expect(run.rows.map((row) => [row.key, row.state])).toEqual([
      ['api/changed', 'changed in git, not deployed'],
      ['api/in-sync', 'in sync'],
      ['api/missing', 'missing from the bucket'],
      ['api/removed', 'deployed, not in git'],
    ]);
    const inSync = run.rows.find((row) => row.key === 'api/in-sync')!;
    expect(inSync.git!.md5).toBe(inSync.bucket!.etag);
    expect(inSync.bucket!.versionId).toMatch(/.+/);
    expect(Date.parse(inSync.bucket!.lastModified!)).toBeGreaterThan(Date.now() - 60_000);
    expect(kmsCalls(), 'nothing is decrypted').toBe(before);
  });

  test('all in sync: a table and exit 0; a deleted object (its delete marker) is no longer "deployed"', async () => {
    project = localProject();
    await cli(aws, project, ['encrypt', 'api/only'], { input: 'v' });
    await upload('api/only', ciphertext('only'));
    await upload('api/deleted', 'deleted since');
    await aws.clients.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'api/deleted' }));
    const run = await status();

    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^SECRET +STATE +GIT MD5 +BUCKET ETAG +VERSION +LAST MODIFIED\napi\/only +in sync +[0-9a-f]{32} +[0-9a-f]{32} +\S+ +\d{4}-/);
    expect(run.stdout).toMatch(/env demo: all 1 in sync with s3:\/\/kms-secrets-demo-secrets\n$/);
  });

  test('with only the listing rights CI has (no KMS right at all)', async () => {
    project = localProject();
    await cli(aws, project, ['encrypt', 'api/ci'], { input: 'v' });
    await upload('api/ci', ciphertext('ci'));
    const ci = await roleWithPolicy(aws.endpoint.url, 'status-ci', [
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: `arn:aws:s3:::${BUCKET}` },
    ]);
    const run = await status(['--json'], credentialsEnv(ci));

    expect(run.code, run.stderr).toBe(0);
    expect(run.rows.map((row) => row.state)).toEqual(['in sync']);
  });

  test('an env that is not deployed: one line and the deploy to run', async () => {
    project = localProject(['demo', 'fresh']);
    const run = await status(['--env', 'fresh']);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: cannot list s3:\/\/kms-secrets-fresh-secrets: NoSuchBucket: .*\nhint: env fresh is not deployed yet: npm run cdktf -- deploy fresh\n$/);
  });
});

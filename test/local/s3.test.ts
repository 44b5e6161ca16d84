import {
  CopyObjectCommand, CreateBucketCommand, DeleteBucketCommand, DeleteBucketLifecycleCommand, DeleteObjectCommand, DeleteObjectsCommand, GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand, GetBucketVersioningCommand, GetObjectCommand,
  GetObjectTaggingCommand, GetPublicAccessBlockCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand,
  ListObjectsV2Command, ListObjectVersionsCommand, PutBucketLifecycleConfigurationCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand,
  PutObjectTaggingCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint, type TestEndpoint } from './support.ts';

let local: TestEndpoint;
let s3: S3Client;
let bucketCount = 0;

beforeAll(async () => {
  local = await startEndpoint();
  s3 = local.clients().s3;
});
afterAll(() => local.close());

async function newBucket(): Promise<string> {
  const bucket = `bucket-${++bucketCount}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

function md5(content: string | Buffer): string {
  return createHash('md5').update(content).digest('hex');
}

describe('buckets', () => {
  it('are created, listed, found by HeadBucket with their Region, and deleted', async () => {
    const bucket = await newBucket();
    const head = await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    expect(head.BucketRegion).toBe('us-east-1');
    expect((await s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toContain(bucket);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('start private with SSE-S3 default encryption and no policy, lifecycle or versioning', async () => {
    const bucket = await newBucket();
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    expect(encryption.ServerSideEncryptionConfiguration!.Rules![0]!.ApplyServerSideEncryptionByDefault!.SSEAlgorithm).toBe('AES256');
    const publicAccess = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
    expect(publicAccess.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, RestrictPublicBuckets: true });
    await expect(s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NoSuchBucketPolicy' });
    await expect(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NoSuchLifecycleConfiguration' });
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBeUndefined();
  });

  it('keep a bucket policy as it was put', async () => {
    const bucket = await newBucket();
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${bucket}/*`, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] });
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy).toBe(policy);
  });

  it('keep a lifecycle configuration with its transition minimum object size until it is deleted', async () => {
    const bucket = await newBucket();
    await s3.send(new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      TransitionDefaultMinimumObjectSize: 'varies_by_storage_class',
      LifecycleConfiguration: { Rules: [{ ID: 'noncurrent', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 30 } }] },
    }));
    const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    expect(lifecycle).toMatchObject({ TransitionDefaultMinimumObjectSize: 'varies_by_storage_class', Rules: [{ ID: 'noncurrent', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }] });
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
    await expect(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NoSuchLifecycleConfiguration' });
  });

  it('cannot be deleted while they hold objects: BucketNotEmpty', async () => {
    const bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }));
    await expect(s3.send(new DeleteBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'BucketNotEmpty' });
  });

  it('answer NoSuchBucket for a bucket that does not exist', async () => {
    await expect(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });
});

describe('objects', () => {
  it('round-trip through Put, Get, Head and Delete with the ETag S3 computes (quoted MD5)', async () => {
    const bucket = await newBucket();
    const body = 'ciphertext bytes';
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'api/password', Body: body, ContentType: 'application/octet-stream' }));
    expect(put.ETag).toBe(`"${md5(body)}"`);
    expect(put.ServerSideEncryption).toBe('AES256');
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'api/password' }));
    expect(await got.Body!.transformToString()).toBe(body);
    expect(got).toMatchObject({ ETag: `"${md5(body)}"`, ContentType: 'application/octet-stream', ContentLength: body.length });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'api/password' }));
    expect(head).toMatchObject({ ETag: `"${md5(body)}"`, ContentLength: body.length, ServerSideEncryption: 'AES256' });
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'api/password' }));
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'api/password' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'api/password' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('store the decoded bytes of a streamed upload (aws-chunked with a CRC32 trailer)', async () => {
    const bucket = await newBucket();
    const parts = [Buffer.alloc(70_000, 'a'), Buffer.alloc(50_000, 'b')];
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed', Body: Readable.from(parts), ContentLength: 120_000 }));
    expect(put.ETag).toBe(`"${md5(Buffer.concat(parts))}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'streamed' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);
  });

  it('are refused when Content-MD5 does not match the body: BadDigest', async () => {
    const bucket = await newBucket();
    const wrong = createHash('md5').update('something else').digest('base64');
    await expect(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'body', ContentMD5: wrong }))).rejects.toMatchObject({ name: 'BadDigest' });
  });

  it('keep their tags', async () => {
    const bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v', Tagging: 'env=staging' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k' }))).TagSet).toEqual([{ Key: 'env', Value: 'staging' }]);
    await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'k', Tagging: { TagSet: [{ Key: 'owner', Value: 'api' }] } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k' }))).TagSet).toEqual([{ Key: 'owner', Value: 'api' }]);
  });

  it('are deleted in bulk by DeleteObjects', async () => {
    const bucket = await newBucket();
    await Promise.all(['a', 'b'].map((key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))));
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'a' }, { Key: 'b' }] } }));
    expect(result.Deleted!.map((d) => d.Key).sort()).toEqual(['a', 'b']);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
  });
});

describe('versioned buckets', () => {
  it('keep every version, hide a deleted object behind a delete marker, and list both', async () => {
    const bucket = await newBucket();
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'one' }));
    const second = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'two' }));
    expect(first.VersionId).not.toBe(second.VersionId);
    const old = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', VersionId: first.VersionId }));
    expect(await old.Body!.transformToString()).toBe('one');
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
    expect(deleted.DeleteMarker).toBe(true);
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'k' }));
    expect(versions.Versions!.map((v) => v.VersionId)).toEqual([second.VersionId, first.VersionId]);
    expect(versions.DeleteMarkers!.map((m) => [m.VersionId, m.IsLatest])).toEqual([[deleted.VersionId, true]]);
    for (const id of [first.VersionId, second.VersionId, deleted.VersionId]) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: id }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  });
});

describe('ListObjectsV2', () => {
  let bucket: string;
  const keys = Array.from({ length: 2500 }, (_, i) => `${['api', 'web'][i % 2]}/secret-${String(i).padStart(4, '0')}`);

  beforeAll(async () => {
    bucket = await newBucket();
    const queue = [...keys];
    await Promise.all(Array.from({ length: 32 }, async () => {
      for (let key = queue.pop(); key !== undefined; key = queue.pop()) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    }));
  });

  it('pages through 2,500 objects 1,000 at a time with continuation tokens, in key order', async () => {
    const listed: string[] = [];
    const pageSizes: number[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      pageSizes.push(page.KeyCount!);
      listed.push(...page.Contents!.map((c) => c.Key!));
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
    } while (token);
    expect(pageSizes).toEqual([1000, 1000, 500]);
    expect(listed).toEqual([...keys].sort());
  });

  it('lists one prefix with MaxKeys pages', async () => {
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'api/', MaxKeys: 400, ContinuationToken: token }));
      listed.push(...page.Contents!.map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(listed).toEqual(keys.filter((k) => k.startsWith('api/')).sort());
  });

  it('rolls keys up into common prefixes at the delimiter', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    expect(page.CommonPrefixes).toEqual([{ Prefix: 'api/' }, { Prefix: 'web/' }]);
    expect(page.Contents).toBeUndefined();
    const paged = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/', MaxKeys: 1 }));
    const next = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/', MaxKeys: 1, ContinuationToken: paged.NextContinuationToken }));
    expect([paged.CommonPrefixes, next.CommonPrefixes, next.IsTruncated]).toEqual([[{ Prefix: 'api/' }], [{ Prefix: 'web/' }], false]);
  });
});

describe('operations the endpoint lacks', () => {
  it('answer 501 NotImplemented at once, naming the operation', async () => {
    const bucket = await newBucket();
    const error = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/k` })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3ServiceException);
    expect(error).toMatchObject({ name: 'NotImplemented', message: 'The local endpoint does not implement S3 operation CopyObject', $metadata: { httpStatusCode: 501, attempts: 1 } });
  });
});

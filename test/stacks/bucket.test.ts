import { describe, expect, it } from 'vitest';
import { onlyResource, synthEnvironment } from '../support/synth.ts';

const { config } = synthEnvironment({ settings: { defaults: { bucketPrefix: 'acme-', noncurrentVersionDays: 14 } } });
const bucketPolicy = JSON.parse(onlyResource(config, 'aws_s3_bucket_policy').policy as string);
const statement = (sid: string) => bucketPolicy.Statement.find((s: { Sid: string }) => s.Sid === sid);

describe('SecretsBucket: a private, versioned, TLS-only bucket of ciphertext', () => {
  it('is named <prefix><env>-secrets', () => {
    expect(onlyResource(config, 'aws_s3_bucket').bucket).toBe('acme-staging-secrets');
  });

  it('blocks every kind of public access', () => {
    expect(onlyResource(config, 'aws_s3_bucket_public_access_block')).toMatchObject({
      block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true,
    });
  });

  it('enforces bucket-owner ownership, so ACLs are off', () => {
    expect(onlyResource(config, 'aws_s3_bucket_ownership_controls').rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
  });

  it('keeps versions', () => {
    expect(onlyResource(config, 'aws_s3_bucket_versioning').versioning_configuration).toEqual({ status: 'Enabled' });
  });

  it('encrypts at rest with SSE-S3, which needs no KMS rights from the deployer or CI', () => {
    expect(onlyResource(config, 'aws_s3_bucket_server_side_encryption_configuration').rule)
      .toEqual([{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }]);
  });

  it('expires noncurrent versions after the configured days', () => {
    const rule = (onlyResource(config, 'aws_s3_bucket_lifecycle_configuration').rule as Record<string, unknown>[])[0];
    expect(rule).toMatchObject({ status: 'Enabled', noncurrent_version_expiration: [{ noncurrent_days: 14 }] });
  });

  it('denies every request that is not over TLS', () => {
    expect(statement('DenyInsecureTransport')).toEqual({
      Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*',
      Resource: ['arn:aws:s3:::acme-staging-secrets', 'arn:aws:s3:::acme-staging-secrets/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });

  it('denies a PUT without SSE-S3', () => {
    expect(statement('DenyUnencryptedPuts')).toMatchObject({
      Effect: 'Deny', Action: 's3:PutObject',
      Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } },
    });
  });

  it('has no VPC endpoint restriction unless one is configured', () => {
    expect(statement('DenyObjectAccessOutsideVpcEndpoint')).toBeUndefined();
  });

  it('restricts every object action (versions and tags too) to the configured VPC endpoint', () => {
    const withVpce = synthEnvironment({ settings: { defaults: { vpcEndpointId: 'vpce-0abc123' } } }).config;
    const policy = JSON.parse(onlyResource(withVpce, 'aws_s3_bucket_policy').policy as string);
    expect(policy.Statement.find((s: { Sid: string }) => s.Sid === 'DenyObjectAccessOutsideVpcEndpoint')).toEqual({
      Sid: 'DenyObjectAccessOutsideVpcEndpoint', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::kms-secrets-staging-secrets/*',
      Condition: { StringNotEquals: { 'aws:sourceVpce': 'vpce-0abc123' } },
    });
  });

  it('is never force-destroyed unless the settings say so', () => {
    expect(onlyResource(config, 'aws_s3_bucket').force_destroy).toBe(false);
    const destroyable = synthEnvironment({ settings: { defaults: { forceDestroy: true } } }).config;
    expect(onlyResource(destroyable, 'aws_s3_bucket').force_destroy).toBe(true);
  });

  it('uses the partition of the region in ARNs', () => {
    const china = synthEnvironment({ settings: { defaults: { region: 'cn-north-1' } } }).config;
    expect(onlyResource(china, 'aws_s3_bucket_policy').policy).toContain('arn:aws-cn:s3:::kms-secrets-staging-secrets');
  });
});

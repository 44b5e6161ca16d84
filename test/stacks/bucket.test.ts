import { describe, expect, it } from 'vitest';
import { ACCOUNT, concrete } from '../support/policies.ts';
import { KEY_ADMINISTRATOR, onlyResource, secretFile, synthEnvironment } from '../support/synth.ts';

const { config } = synthEnvironment({
  files: [secretFile('staging', 'api', 'token'), secretFile('staging', 'web', 'token')],
  settings: { defaults: { bucketPrefix: 'acme-', noncurrentVersionDays: 14 } },
});
const bucketPolicy = concrete(onlyResource(config, 'aws_s3_bucket_policy').policy) as { Statement: { Sid: string }[] };
const statement = (sid: string) => bucketPolicy.Statement.find((s) => s.Sid === sid);

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

  it('lets objects be put under the declared services\' prefixes and the declared lists only', () => {
    expect(statement('ObjectsOnlyUnderDeclaredServices')).toEqual({
      Sid: 'ObjectsOnlyUnderDeclaredServices', Effect: 'Deny', Principal: '*', Action: 's3:PutObject',
      NotResource: ['arn:aws:s3:::acme-staging-secrets/api/*', 'arn:aws:s3:::acme-staging-secrets/web/*', 'arn:aws:s3:::acme-staging-secrets/.declared/*'],
    });
  });

  it('lets only the key administrators and the root user write or delete a declared list', () => {
    expect(statement('OnlyAdministratorsWriteDeclaredLists')).toMatchObject({
      Effect: 'Deny', Principal: '*', Resource: 'arn:aws:s3:::acme-staging-secrets/.declared/*',
      Action: expect.arrayContaining(['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion']),
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [`arn:aws:iam::${ACCOUNT}:root`, KEY_ADMINISTRATOR] } },
    });
  });

  it('is created after the key, whose creation checks who applies: nothing exists when that check fails', () => {
    expect(onlyResource(config, 'aws_s3_bucket').depends_on).toEqual([expect.stringMatching(/^aws_kms_key\.\w+$/)]);
  });

  it('has no VPC endpoint restriction unless one is configured', () => {
    expect(statement('DenyObjectAccessOutsideVpcEndpoint')).toBeUndefined();
  });

  it('restricts every object action (versions and tags too) to the configured VPC endpoint', () => {
    const withVpce = synthEnvironment({ settings: { defaults: { vpcEndpointId: 'vpce-0abc123' } } }).config;
    const policy = concrete(onlyResource(withVpce, 'aws_s3_bucket_policy').policy) as { Statement: { Sid: string }[] };
    expect(policy.Statement.find((s) => s.Sid === 'DenyObjectAccessOutsideVpcEndpoint')).toEqual({
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

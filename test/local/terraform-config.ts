/**
 * Small Terraform JSON configurations with the resources our stack uses, pointed at the local endpoint:
 * the stack (key with rotation and policy, alias, hardened versioned bucket, two objects uploaded from
 * files, a task role with inline and managed policies) and, apart, a bucket with a noncurrent-version
 * lifecycle rule, because the provider waits 55 s after every lifecycle change whatever the endpoint.
 */
import { terraformProvider } from '../../local/terraform-provider.ts';

export const BUCKET = 'tf-local-secrets';
export const LIFECYCLE_BUCKET = 'tf-local-lifecycle';
export const OBJECT_FILES = { password: 'files/api/password', token: 'files/api/token' } as const;

export function terraformConfig(endpoint: string): Record<string, unknown> {
  const bucket = 'aws_s3_bucket.secrets';
  const object = (key: string, file: string) => ({
    bucket: `\${${bucket}.id}`,
    key,
    source: file,
    etag: `\${filemd5("${file}")}`,
    content_type: 'application/octet-stream',
    depends_on: ['aws_s3_bucket_versioning.secrets', 'aws_s3_bucket_server_side_encryption_configuration.secrets'],
  });
  return {
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
    provider: { aws: terraformProvider(endpoint) },
    data: { aws_caller_identity: { current: {} } },
    resource: {
      aws_kms_key: {
        secrets: {
          description: 'local test secrets key',
          enable_key_rotation: true,
          deletion_window_in_days: 7,
          policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Sid: 'Enable IAM policies', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::${data.aws_caller_identity.current.account_id}:root' }, Action: 'kms:*', Resource: '*' }],
          }),
        },
      },
      aws_kms_alias: { secrets: { name: 'alias/tf-local-secrets', target_key_id: '${aws_kms_key.secrets.key_id}' } },
      aws_s3_bucket: { secrets: { bucket: BUCKET } },
      aws_s3_bucket_versioning: { secrets: { bucket: `\${${bucket}.id}`, versioning_configuration: { status: 'Enabled' } } },
      aws_s3_bucket_server_side_encryption_configuration: {
        secrets: { bucket: `\${${bucket}.id}`, rule: { apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } } },
      },
      aws_s3_bucket_public_access_block: {
        secrets: { bucket: `\${${bucket}.id}`, block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true },
      },
      aws_s3_bucket_ownership_controls: { secrets: { bucket: `\${${bucket}.id}`, rule: { object_ownership: 'BucketOwnerEnforced' } } },
      aws_s3_bucket_policy: {
        secrets: {
          bucket: `\${${bucket}.id}`,
          policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [`\${${bucket}.arn}`, `\${${bucket}.arn}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }],
          }),
          depends_on: ['aws_s3_bucket_public_access_block.secrets'],
        },
      },
      aws_s3_object: {
        api_password: object('api/password', OBJECT_FILES.password),
        api_token: object('api/token', OBJECT_FILES.token),
      },
      aws_iam_role: {
        api_task: {
          name: 'tf-local-api-task',
          assume_role_policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          }),
        },
      },
      aws_iam_role_policy: {
        api_read: {
          name: 'read-api-secrets',
          role: '${aws_iam_role.api_task.id}',
          policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 's3:GetObject', Resource: `\${${bucket}.arn}/api/*` },
              { Effect: 'Allow', Action: 's3:ListBucket', Resource: `\${${bucket}.arn}`, Condition: { StringLike: { 's3:prefix': ['api/*'] } } },
            ],
          }),
        },
      },
      aws_iam_policy: {
        api_decrypt: {
          name: 'tf-local-api-decrypt',
          policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '${aws_kms_key.secrets.arn}', Condition: { StringEquals: { 'kms:EncryptionContext:service': 'api' } } }],
          }),
        },
      },
      aws_iam_role_policy_attachment: { api_decrypt: { role: '${aws_iam_role.api_task.name}', policy_arn: '${aws_iam_policy.api_decrypt.arn}' } },
    },
    output: {
      account_id: { value: '${data.aws_caller_identity.current.account_id}' },
      key_arn: { value: '${aws_kms_key.secrets.arn}' },
      role_arn: { value: '${aws_iam_role.api_task.arn}' },
    },
  };
}

export function lifecycleConfig(endpoint: string): Record<string, unknown> {
  const bucket = '${aws_s3_bucket.versioned.id}';
  return {
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
    provider: { aws: terraformProvider(endpoint) },
    resource: {
      aws_s3_bucket: { versioned: { bucket: LIFECYCLE_BUCKET } },
      aws_s3_bucket_versioning: { versioned: { bucket, versioning_configuration: { status: 'Enabled' } } },
      aws_s3_bucket_lifecycle_configuration: {
        versioned: {
          bucket,
          rule: [{ id: 'noncurrent-versions', status: 'Enabled', filter: {}, noncurrent_version_expiration: { noncurrent_days: 30 } }],
          depends_on: ['aws_s3_bucket_versioning.versioned'],
        },
      },
    },
  };
}

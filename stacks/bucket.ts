/** The environment's hardened ciphertext bucket (DESIGN.md D4). */
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { Construct } from 'constructs';
import { policyDocument, type PolicyDocument } from './policy.ts';

export interface SecretsBucketProps {
  /** Globally unique bucket name. */
  readonly bucketName: string;
  readonly partition: string;
  /** Days a noncurrent ciphertext version is kept. */
  readonly noncurrentVersionDays: number;
  /** When set, object Get/Put/Delete must come through this VPC endpoint. @default no restriction */
  readonly vpcEndpointId?: string;
}

/** Server-side encryption of the bucket: SSE-S3, since the content is KMS ciphertext already (D4). */
export const BUCKET_SSE = 'AES256';

export class SecretsBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly bucketName: string;
  readonly bucketArn: string;
  /** The bucket policy, as deployed. */
  readonly policy: PolicyDocument;

  constructor(scope: Construct, id: string, props: SecretsBucketProps) {
    super(scope, id);
    this.bucketName = props.bucketName;
    this.bucketArn = `arn:${props.partition}:s3:::${props.bucketName}`;
    this.bucket = new S3Bucket(this, 'bucket', { bucket: props.bucketName });

    const publicAccess = new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: this.bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    const versioning = new S3BucketVersioningA(this, 'versioning', {
      bucket: this.bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: BUCKET_SSE } }],
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [{
        id: 'expire-noncurrent-ciphertext',
        status: 'Enabled',
        filter: [{ prefix: '' }],
        noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays }],
      }],
      dependsOn: [versioning],
    });

    this.policy = policyDocument([
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [this.bucketArn, `${this.bucketArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'DenyUnencryptedPuts',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: `${this.bucketArn}/*`,
        Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': BUCKET_SSE } },
      },
      ...(props.vpcEndpointId
        ? [{
          Sid: 'DenyObjectAccessOutsideVpcEndpoint',
          Effect: 'Deny' as const,
          Principal: '*' as const,
          Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          Resource: `${this.bucketArn}/*`,
          Condition: { StringNotEquals: { 'aws:sourceVpce': props.vpcEndpointId } },
        }]
        : []),
    ]);
    // Applied after the public access block, which would otherwise race the policy on a new bucket.
    new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: JSON.stringify(this.policy),
      dependsOn: [publicAccess],
    });
  }
}

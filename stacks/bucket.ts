/**
 * The environment's hardened ciphertext bucket: private, Block Public Access, BucketOwnerEnforced,
 * versioned, SSE-S3 by default, a policy that denies non-TLS requests and PUTs without SSE-S3, optionally
 * object access only through a VPC endpoint, and noncurrent versions expired after a number of days.
 *
 * Which objects may exist is an allow-list, in the bucket policy as in the deployer's: a key under a
 * declared service's prefix, or a declared list (`.declared/<service>.json`), which only the key's
 * administrators write; and only they configure the bucket, this policy included.
 */
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { DECLARED_PREFIX, declaredListKey } from '../lib/declared.ts';
import { policyDocument, type PolicyDocument, type PolicyStatement } from './policy.ts';

export interface SecretsBucketProps {
  /** Globally unique bucket name. */
  readonly bucketName: string;
  readonly partition: string;
  /** Days a noncurrent ciphertext version is kept. */
  readonly noncurrentVersionDays: number;
  /** When set, every object action must come through this VPC endpoint. @default no restriction */
  readonly vpcEndpointId?: string;
  /** Let Terraform delete the bucket with all its versions. @default false */
  readonly forceDestroy?: boolean;
  /** The env's services: objects may exist under their prefixes only. */
  readonly services: readonly string[];
  /** Principals that may write the declared lists: the key's administrators and the account's root user. */
  readonly administrators: readonly string[];
  /** Created first: nothing of the env is made before the key, whose creation checks who applies. */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** Server-side encryption of the bucket: SSE-S3. The content is KMS ciphertext already, and SSE-KMS would give the deployer and CI KMS rights. */
export const BUCKET_SSE = 'AES256';

const BUCKET_READ_ACTIONS = [
  's3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation', 's3:GetBucketPolicy', 's3:GetBucketAcl', 's3:GetBucketCORS',
  's3:GetBucketWebsite', 's3:GetBucketVersioning', 's3:GetAccelerateConfiguration', 's3:GetBucketRequestPayment',
  's3:GetBucketLogging', 's3:GetLifecycleConfiguration', 's3:GetReplicationConfiguration', 's3:GetEncryptionConfiguration',
  's3:GetBucketObjectLockConfiguration', 's3:GetBucketTagging', 's3:GetBucketPublicAccessBlock', 's3:GetBucketOwnershipControls',
];
const BUCKET_WRITE_ACTIONS = [
  's3:CreateBucket', 's3:DeleteBucket', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:PutBucketVersioning',
  's3:PutEncryptionConfiguration', 's3:PutLifecycleConfiguration', 's3:PutBucketTagging', 's3:PutBucketPublicAccessBlock',
  's3:PutBucketOwnershipControls', 's3:PutBucketAcl', 's3:PutBucketCORS', 's3:PutBucketWebsite', 's3:DeleteBucketWebsite',
  's3:PutBucketLogging', 's3:PutReplicationConfiguration', 's3:PutBucketObjectLockConfiguration', 's3:PutAccelerateConfiguration',
  's3:PutBucketRequestPayment', 's3:PutBucketNotification',
];
/** Objects are ciphertext; reading them (HeadObject) is how Terraform refreshes them, and grants no plaintext. */
const OBJECT_READ_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'];
export const OBJECT_WRITE_ACTIONS = [
  's3:PutObject', 's3:PutObjectTagging', 's3:PutObjectVersionTagging', 's3:DeleteObject', 's3:DeleteObjectVersion',
  's3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging',
];

export class SecretsBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly bucketName: string;
  readonly bucketArn: string;
  /** The bucket policy, as deployed. */
  readonly policy: PolicyDocument;
  /**
   * What an object must wait for, so that its first upload already gets a version id, the default
   * encryption and the bucket policy's checks. Not the lifecycle rule: it expires old versions only, and
   * the provider polls it for about a minute before it counts as created.
   */
  readonly configuration: readonly ITerraformDependable[];
  private readonly services: readonly string[];

  constructor(scope: Construct, id: string, props: SecretsBucketProps) {
    super(scope, id);
    this.bucketName = props.bucketName;
    this.bucketArn = `arn:${props.partition}:s3:::${props.bucketName}`;
    this.services = props.services;
    this.bucket = new S3Bucket(this, 'bucket', {
      bucket: props.bucketName,
      forceDestroy: props.forceDestroy ?? false,
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
    });

    const publicAccess = new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const ownership = new S3BucketOwnershipControls(this, 'ownership', {
      bucket: this.bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    const versioning = new S3BucketVersioningA(this, 'versioning', {
      bucket: this.bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
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
      {
        // Deletes stay possible everywhere: a removed service's old versions must go with the bucket.
        Sid: 'ObjectsOnlyUnderDeclaredServices',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        NotResource: [...this.serviceObjectArns(), this.declaredListArns()],
      },
      {
        // This policy's allow-lists hold only while nobody else may replace the policy or the bucket's settings.
        Sid: 'OnlyAdministratorsConfigureTheBucket',
        Effect: 'Deny',
        Principal: '*',
        Action: BUCKET_WRITE_ACTIONS,
        Resource: this.bucketArn,
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [...props.administrators] } },
      },
      {
        Sid: 'OnlyAdministratorsWriteDeclaredLists',
        Effect: 'Deny',
        Principal: '*',
        Action: OBJECT_WRITE_ACTIONS,
        Resource: this.declaredListArns(),
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [...props.administrators] } },
      },
      ...(props.vpcEndpointId
        ? [{
          Sid: 'DenyObjectAccessOutsideVpcEndpoint',
          Effect: 'Deny' as const,
          Principal: '*' as const,
          // Every action on objects: versions, tags and ACL reads too, not only Get/Put/Delete.
          Action: 's3:*',
          Resource: `${this.bucketArn}/*`,
          Condition: { StringNotEquals: { 'aws:sourceVpce': props.vpcEndpointId } },
        }]
        : []),
    ]);
    // Applied after the public access block, which would otherwise race the policy on a new bucket.
    const policy = new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: JSON.stringify(this.policy),
      dependsOn: [publicAccess],
    });
    this.configuration = [publicAccess, ownership, versioning, encryption, policy];
  }

  /** A task role of `service` lists and reads only its own prefix, and its declared list. */
  readServiceStatements(service: string): PolicyStatement[] {
    return [
      {
        Sid: 'ListOwnServicePrefix',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: this.bucketArn,
        Condition: { StringLike: { 's3:prefix': `${service}/*` } },
      },
      { Sid: 'ReadOwnServiceObjects', Effect: 'Allow', Action: 's3:GetObject', Resource: [`${this.bucketArn}/${service}/*`, `${this.bucketArn}/${declaredListKey(service)}`] },
    ];
  }

  /** What `terraform plan` needs to refresh the bucket, its configuration and its objects. */
  readStatements(): PolicyStatement[] {
    return [
      { Sid: 'ReadBucket', Effect: 'Allow', Action: BUCKET_READ_ACTIONS, Resource: this.bucketArn },
      { Sid: 'ReadObjects', Effect: 'Allow', Action: OBJECT_READ_ACTIONS, Resource: `${this.bucketArn}/*` },
      { Sid: 'ListBuckets', Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' },
    ];
  }

  /** What the deployer needs besides reading: put and delete ciphertext objects of the declared services, their versions and tags. */
  writeObjectStatements(): PolicyStatement[] {
    return this.services.length === 0 ? [] : [{ Sid: 'WriteCiphertextObjects', Effect: 'Allow', Action: OBJECT_WRITE_ACTIONS, Resource: this.serviceObjectArns() }];
  }

  private serviceObjectArns(): string[] {
    return this.services.map((service) => `${this.bucketArn}/${service}/*`);
  }

  private declaredListArns(): string {
    return `${this.bucketArn}/${DECLARED_PREFIX}*`;
  }

  /** An explicit deny of every bucket configuration change (an administrator's apply). */
  denyConfigureStatement(): PolicyStatement {
    return { Sid: 'NeverConfigureBucket', Effect: 'Deny', Action: BUCKET_WRITE_ACTIONS, Resource: this.bucketArn };
  }

  /** An explicit deny of every object write, for read-only principals. */
  denyWriteStatement(): PolicyStatement {
    return { Sid: 'NeverWriteObjects', Effect: 'Deny', Action: OBJECT_WRITE_ACTIONS, Resource: `${this.bucketArn}/*` };
  }
}

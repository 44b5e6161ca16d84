/**
 * The environment's KMS key, with rotation on, its alias and its key policy — and the statements that say
 * who may do what with it, so the policy lives beside the thing it protects.
 */
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { policyDocument, type PolicyDocument, type PolicyStatement } from './policy.ts';

export interface SecretsKeyProps {
  readonly env: string;
  /** e.g. alias/kms-secrets/staging */
  readonly alias: string;
  readonly partition: string;
  readonly region: string;
  /** IAM ARNs that administer the key; they never get cryptographic use of it. @default [] */
  readonly administrators?: readonly string[];
  /** Days before a key scheduled for deletion is deleted. @default 30 */
  readonly deletionWindowInDays?: number;
}

/** Every KMS action that uses key material: what only task roles (decrypt) and developers (encrypt) get. */
export const KMS_CRYPTO_ACTIONS = [
  'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo',
];
const KMS_READ_ACTIONS = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags'];
const KMS_ADMIN_ACTIONS = [
  ...KMS_READ_ACTIONS, 'kms:PutKeyPolicy', 'kms:EnableKeyRotation', 'kms:DisableKeyRotation', 'kms:UpdateKeyDescription',
  'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:EnableKey', 'kms:DisableKey',
  'kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias',
];

export class SecretsKey extends Construct {
  readonly key: KmsKey;
  readonly alias: KmsAlias;
  /** The account that owns the key, read from its ARN (no extra AWS call at plan time). */
  readonly accountId: string;
  readonly aliasArn: string;
  /** The key policy, as deployed. */
  readonly policy: PolicyDocument;
  private readonly env: string;

  constructor(scope: Construct, id: string, props: SecretsKeyProps) {
    super(scope, id);
    this.env = props.env;
    this.key = new KmsKey(this, 'key', {
      description: `kms-secrets: encrypts the secrets of env ${props.env}`,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowInDays ?? 30,
    });
    this.alias = new KmsAlias(this, 'alias', { name: props.alias, targetKeyId: this.key.keyId });
    this.accountId = Fn.element(Fn.split(':', this.key.arn), 4);
    this.aliasArn = `arn:${props.partition}:kms:${props.region}:${this.accountId}:${props.alias}`;

    const administrators = props.administrators ?? [];
    this.policy = policyDocument([
      {
        // The account keeps full control (no lock-out) and IAM policies decide who uses the key.
        Sid: 'AccountControlsTheKeyThroughIam',
        Effect: 'Allow',
        Principal: { AWS: `arn:${props.partition}:iam::${this.accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      ...(administrators.length > 0
        ? [{ Sid: 'KeyAdministrators', Effect: 'Allow' as const, Principal: { AWS: [...administrators] }, Action: KMS_ADMIN_ACTIONS, Resource: '*' }]
        : []),
      {
        // A ciphertext without a context is bound to no place; nobody may decrypt or make one.
        Sid: 'DenyCryptoWithoutEncryptionContext',
        Effect: 'Deny',
        Principal: '*',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'],
        Resource: '*',
        Condition: { Null: { 'kms:EncryptionContextKeys': 'true' } },
      },
    ]);
    new KmsKeyPolicy(this, 'policy', { keyId: this.key.keyId, policy: JSON.stringify(this.policy) });
  }

  /** A task role of `service` decrypts only ciphertext bound to its own service and env. */
  decryptStatement(service: string): PolicyStatement {
    return {
      Sid: 'DecryptOwnServiceSecrets',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: this.key.arn,
      Condition: { StringEquals: { 'kms:EncryptionContext:service': service, 'kms:EncryptionContext:env': this.env } },
    };
  }

  /** Developers may encrypt for this env only; they never decrypt (secrets are write-only for them). */
  encryptStatement(): PolicyStatement {
    return {
      Sid: 'EncryptForThisEnv',
      Effect: 'Allow',
      Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: this.key.arn,
      Condition: { StringEquals: { 'kms:EncryptionContext:env': this.env } },
    };
  }

  /** What `terraform plan` needs to refresh the key and alias. */
  readStatements(): PolicyStatement[] {
    return [
      { Sid: 'ReadKey', Effect: 'Allow', Action: KMS_READ_ACTIONS, Resource: this.key.arn },
      { Sid: 'ListAliases', Effect: 'Allow', Action: 'kms:ListAliases', Resource: '*' },
    ];
  }

  /** What `terraform apply` needs to create, change and delete the key and alias. */
  manageStatements(): PolicyStatement[] {
    return [
      // CreateKey has no resource to scope to; the new key gets the env tag from the provider's default tags.
      { Sid: 'CreateKey', Effect: 'Allow', Action: ['kms:CreateKey', 'kms:TagResource', 'kms:ListAliases'], Resource: '*' },
      { Sid: 'ManageKey', Effect: 'Allow', Action: KMS_ADMIN_ACTIONS, Resource: [this.key.arn, this.aliasArn] },
    ];
  }

  /** An explicit deny of every cryptographic use, for principals that must never have it. */
  denyCryptoStatement(): PolicyStatement {
    return { Sid: 'NeverUseKeyMaterial', Effect: 'Deny', Action: KMS_CRYPTO_ACTIONS, Resource: '*' };
  }
}

/**
 * The environment's KMS key, with rotation on, its alias and its key policy — and the statements that say
 * who may do what with it, so the policy lives beside the thing it protects.
 *
 * The key policy is the gate for decryption: it names each task role (and the break-glass principals)
 * itself and delegates nothing cryptographic to IAM except encryption. So an IAM policy elsewhere in the
 * account that allows `kms:Decrypt` on `*` (PowerUserAccess, say) decrypts nothing here.
 */
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy/index.js';
import { Fn, Lazy } from 'cdktf';
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
  /** IAM ARNs that may decrypt (and re-encrypt) every secret of the env, for emergencies. @default [] */
  readonly breakGlassPrincipals?: readonly string[];
  /** Days before a key scheduled for deletion is deleted. @default 30 */
  readonly deletionWindowInDays?: number;
}

/** Every KMS action that uses key material: what only task roles (decrypt) and developers (encrypt) get. */
export const KMS_CRYPTO_ACTIONS = [
  'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo',
];
/** What `terraform plan` reads of the key and alias. */
const KMS_READ_ACTIONS = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags'];
/** Administering the key: an administrator's apply. CreateGrant is in no list: a grant could hand out Decrypt. */
export const KMS_ADMIN_ACTIONS = [
  'kms:PutKeyPolicy', 'kms:EnableKeyRotation', 'kms:DisableKeyRotation', 'kms:UpdateKeyDescription',
  'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:EnableKey', 'kms:DisableKey',
  'kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias',
];
/** The only actions that yield the plaintext of an existing ciphertext (ReEncryptFrom moves it to a key of one's choosing). */
const KMS_READ_PLAINTEXT_ACTIONS = ['kms:Decrypt', 'kms:ReEncryptFrom'];

interface Decrypter {
  readonly principal: string;
  readonly service: string;
}

export class SecretsKey extends Construct {
  readonly key: KmsKey;
  readonly alias: KmsAlias;
  /** The account that owns the key, read from its ARN (no extra AWS call at plan time). */
  readonly accountId: string;
  readonly aliasArn: string;
  private readonly env: string;
  private readonly partition: string;
  private readonly administrators: readonly string[];
  private readonly breakGlassPrincipals: readonly string[];
  private readonly decrypters: Decrypter[] = [];

  constructor(scope: Construct, id: string, props: SecretsKeyProps) {
    super(scope, id);
    this.env = props.env;
    this.partition = props.partition;
    this.administrators = props.administrators ?? [];
    this.breakGlassPrincipals = props.breakGlassPrincipals ?? [];
    this.key = new KmsKey(this, 'key', {
      description: `kms-secrets: encrypts the secrets of env ${props.env}`,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowInDays ?? 30,
    });
    this.alias = new KmsAlias(this, 'alias', { name: props.alias, targetKeyId: this.key.keyId });
    this.accountId = Fn.element(Fn.split(':', this.key.arn), 4);
    this.aliasArn = `arn:${props.partition}:kms:${props.region}:${this.accountId}:${props.alias}`;
    // Rendered at synth, after every grantDecrypt of the stack's task roles.
    new KmsKeyPolicy(this, 'policy', { keyId: this.key.keyId, policy: Lazy.stringValue({ produce: () => JSON.stringify(this.policy) }) });
  }

  /**
   * Lets `principal` (a role ARN) decrypt the ciphertext of `service` and nothing else: the key policy
   * names it with that service's encryption context. Its identity policy needs `decryptStatement` too.
   */
  grantDecrypt(principal: string, service: string): void {
    this.decrypters.push({ principal, service });
  }

  /** The identity-policy statement that matches the key policy's: decrypt with `service`'s context only. */
  decryptStatement(service: string): PolicyStatement {
    return { Sid: 'DecryptOwnServiceSecrets', Effect: 'Allow', Action: 'kms:Decrypt', Resource: this.key.arn, Condition: this.serviceContext(service) };
  }

  /** The key policy, as deployed. */
  get policy(): PolicyDocument {
    const root = `arn:${this.partition}:iam::${this.accountId}:root`;
    const readers = [...new Set([...this.decrypters.map((d) => d.principal), ...this.breakGlassPrincipals])];
    return policyDocument([
      {
        // IAM decides who administers and reads the key (so nobody is locked out), but never who decrypts.
        Sid: 'AccountAdministersTheKeyThroughIam',
        Effect: 'Allow',
        Principal: { AWS: root },
        Action: [...KMS_READ_ACTIONS, ...KMS_ADMIN_ACTIONS],
        Resource: '*',
      },
      ...(this.administrators.length > 0
        ? [{ Sid: 'KeyAdministrators', Effect: 'Allow' as const, Principal: { AWS: [...this.administrators] }, Action: [...KMS_READ_ACTIONS, ...KMS_ADMIN_ACTIONS], Resource: '*' }]
        : []),
      {
        // Encrypting is write-only: IAM (the developer-encrypt policy) decides who may, for this env only.
        Sid: 'AccountEncryptsForThisEnvThroughIam',
        Effect: 'Allow',
        Principal: { AWS: root },
        Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:env': this.env } },
      },
      ...this.decrypters.map(({ principal, service }, index) => ({
        Sid: `TaskRole${index + 1}DecryptsOwnService`,
        Effect: 'Allow' as const,
        Principal: { AWS: principal },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: this.serviceContext(service),
      })),
      ...(this.breakGlassPrincipals.length > 0
        ? [{
          Sid: 'BreakGlassReadsEverySecretOfThisEnv',
          Effect: 'Allow' as const,
          Principal: { AWS: [...this.breakGlassPrincipals] },
          Action: ['kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:Encrypt', 'kms:GenerateDataKey'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:env': this.env } },
        }]
        : []),
      {
        // Nobody else reads plaintext, whatever a grant or a future statement might allow.
        Sid: 'NobodyElseReadsPlaintext',
        Effect: 'Deny',
        Principal: '*',
        Action: KMS_READ_PLAINTEXT_ACTIONS,
        Resource: '*',
        ...(readers.length > 0 ? { Condition: { ArnNotEquals: { 'aws:PrincipalArn': readers } } } : {}),
      },
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

  /** An explicit deny of every cryptographic use, for principals that must never have it. */
  denyCryptoStatement(): PolicyStatement {
    return { Sid: 'NeverUseKeyMaterial', Effect: 'Deny', Action: KMS_CRYPTO_ACTIONS, Resource: '*' };
  }

  /** An explicit deny of administering the key and alias (an administrator's apply), for the deployer and CI. */
  denyAdministerStatement(): PolicyStatement {
    return { Sid: 'NeverAdministerKey', Effect: 'Deny', Action: ['kms:CreateGrant', ...KMS_ADMIN_ACTIONS], Resource: [this.key.arn, this.aliasArn] };
  }

  private serviceContext(service: string) {
    return { StringEquals: { 'kms:EncryptionContext:service': service, 'kms:EncryptionContext:env': this.env } };
  }
}

/**
 * The environment's KMS key, with rotation on, its alias and its key policy — and the statements that say
 * who may do what with it, so the policy lives beside the thing it protects.
 *
 * The key policy is the gate, and it allows rather than denies. Decryption: each task role is named with its
 * service's encryption context and the service's declared secret names, so a name nobody declared decrypts for
 * nobody; nothing cryptographic is delegated to IAM except encryption. Administration: only the named
 * `keyAdministrators`, and the account's root user (so the key can always be recovered); an IAM policy that
 * allows `kms:*` (PowerUserAccess, say) administers nothing here and decrypts nothing.
 *
 * Where administrators are named, the key is created with their statement as its first policy: KMS refuses to
 * create a key whose policy would not let the caller change it later, so a first apply by someone who is not
 * a named administrator fails before anything exists (the bucket waits for the key).
 */
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy/index.js';
import { Fn, Lazy } from 'cdktf';
import { Construct } from 'constructs';
import { KmsSecretsError } from '../lib/errors.ts';
import { policyDocument, type PolicyDocument, type PolicyStatement } from './policy.ts';

export interface SecretsKeyProps {
  readonly env: string;
  /** e.g. alias/kms-secrets/staging */
  readonly alias: string;
  readonly partition: string;
  readonly region: string;
  /** IAM role or user ARNs that administer the key; they never get cryptographic use of it. @default [] (the root user only) */
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
/** Administering the key: an administrator's apply. CreateGrant is in no allow list: a grant could hand out Decrypt. */
export const KMS_ADMIN_ACTIONS = [
  'kms:PutKeyPolicy', 'kms:EnableKeyRotation', 'kms:DisableKeyRotation', 'kms:UpdateKeyDescription',
  'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:EnableKey', 'kms:DisableKey',
  'kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias',
];
/** The only actions that yield the plaintext of an existing ciphertext (ReEncryptFrom moves it to a key of one's choosing). */
const KMS_READ_PLAINTEXT_ACTIONS = ['kms:Decrypt', 'kms:ReEncryptFrom'];
/** KMS refuses a key policy over 32 KB. */
export const MAX_KEY_POLICY_BYTES = 32_768;
/** What a role ARN the policy names at apply (a token at synth) may take at most, for the size check. */
const ROLE_ARN_BUDGET = 128;

interface Decrypter {
  readonly principal: string;
  readonly service: string;
  /** The service's declared secret names: the only `kms:EncryptionContext:secret` values the role decrypts. */
  readonly secrets: readonly string[];
}

export class SecretsKey extends Construct {
  readonly key: KmsKey;
  readonly alias: KmsAlias;
  /** The account that owns the key, read from its ARN (no extra AWS call at plan time). */
  readonly accountId: string;
  readonly aliasArn: string;
  /** The account's root user, the one principal besides the administrators that may administer the key. */
  readonly rootUserArn: string;
  /** Principals that may administer the key (and write what only an administrator's apply writes). */
  readonly administrators: readonly string[];
  private readonly env: string;
  private readonly breakGlassPrincipals: readonly string[];
  private readonly decrypters: Decrypter[] = [];

  constructor(scope: Construct, id: string, props: SecretsKeyProps) {
    super(scope, id);
    this.env = props.env;
    this.administrators = props.administrators ?? [];
    this.breakGlassPrincipals = props.breakGlassPrincipals ?? [];
    this.key = new KmsKey(this, 'key', {
      description: `kms-secrets: encrypts the secrets of env ${props.env}`,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowInDays ?? 30,
      // Only the first policy, which decides who may create the key; the key policy below is the policy from then on.
      ...(this.administrators.length > 0
        ? { policy: JSON.stringify(policyDocument([this.administratorsStatement()])), lifecycle: { ignoreChanges: ['policy'] } }
        : {}),
    });
    this.alias = new KmsAlias(this, 'alias', { name: props.alias, targetKeyId: this.key.keyId });
    this.accountId = Fn.element(Fn.split(':', this.key.arn), 4);
    this.rootUserArn = `arn:${props.partition}:iam::${this.accountId}:root`;
    this.aliasArn = `arn:${props.partition}:kms:${props.region}:${this.accountId}:${props.alias}`;
    // Rendered at synth, after every grantDecrypt of the stack's task roles.
    new KmsKeyPolicy(this, 'policy', { keyId: this.key.keyId, policy: Lazy.stringValue({ produce: () => this.renderPolicy() }) });
  }

  /**
   * Lets `principal` (a role ARN) decrypt the ciphertext of `service` whose secret name is one of `secrets`,
   * and nothing else: the key policy names it with that context. Its identity policy needs `decryptStatement` too.
   */
  grantDecrypt(principal: string, service: string, secrets: readonly string[]): void {
    this.decrypters.push({ principal, service, secrets: [...secrets].sort() });
  }

  /** The identity-policy statement beside the key policy's: decrypt with `service`'s context. The names are the key policy's to check. */
  decryptStatement(service: string): PolicyStatement {
    return { Sid: 'DecryptOwnServiceSecrets', Effect: 'Allow', Action: 'kms:Decrypt', Resource: this.key.arn, Condition: this.serviceContext(service) };
  }

  /** The key policy, as deployed. */
  get policy(): PolicyDocument {
    const readers = [...new Set([...this.decrypters.map((d) => d.principal), ...this.breakGlassPrincipals])];
    return policyDocument([
      ...this.administrationStatements(this.rootUserArn),
      {
        // Encrypting is write-only: IAM (the developer-encrypt policy) decides who may, for this env only.
        Sid: 'AccountEncryptsForThisEnvThroughIam',
        Effect: 'Allow',
        Principal: { AWS: this.rootUserArn },
        Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:env': this.env } },
      },
      ...this.decrypters.map(({ principal, service, secrets }, index) => ({
        Sid: `TaskRole${index + 1}DecryptsOwnService`,
        Effect: 'Allow' as const,
        Principal: { AWS: principal },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { ...this.serviceContext(service).StringEquals, 'kms:EncryptionContext:secret': [...secrets] } },
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
        // A second line: nobody else reads plaintext, whatever a grant or a future statement might allow.
        Sid: 'NobodyElseReadsPlaintext',
        Effect: 'Deny',
        Principal: '*',
        Action: KMS_READ_PLAINTEXT_ACTIONS,
        Resource: '*',
        ...(readers.length > 0 ? { Condition: { ArnNotEquals: { 'aws:PrincipalArn': readers } } } : {}),
      },
      {
        // A second line: nobody else administers the key or hands it out by a grant.
        Sid: 'NobodyElseAdministers',
        Effect: 'Deny',
        Principal: '*',
        Action: [...KMS_ADMIN_ACTIONS, 'kms:CreateGrant'],
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [this.rootUserArn, ...this.administrators] } },
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

  /**
   * Who administers and reads the key: the named administrators, the root user (only the root user itself:
   * `aws:PrincipalArn`, so no IAM policy can extend it), and, for reading its description and policy (what a
   * plan refreshes), whoever IAM allows.
   */
  private administrationStatements(rootUserArn: string): PolicyStatement[] {
    return [
      {
        Sid: 'RootUserRecoversTheKey',
        Effect: 'Allow',
        Principal: { AWS: rootUserArn },
        Action: [...KMS_READ_ACTIONS, ...KMS_ADMIN_ACTIONS],
        Resource: '*',
        Condition: { ArnEquals: { 'aws:PrincipalArn': rootUserArn } },
      },
      ...(this.administrators.length > 0 ? [this.administratorsStatement()] : []),
      { Sid: 'AccountReadsTheKeyThroughIam', Effect: 'Allow', Principal: { AWS: rootUserArn }, Action: KMS_READ_ACTIONS, Resource: '*' },
    ];
  }

  private administratorsStatement(): PolicyStatement {
    return { Sid: 'KeyAdministrators', Effect: 'Allow', Principal: { AWS: [...this.administrators] }, Action: [...KMS_READ_ACTIONS, ...KMS_ADMIN_ACTIONS], Resource: '*' };
  }

  /** The policy as JSON, refused at synth when KMS would refuse it for its size. */
  private renderPolicy(): string {
    const json = JSON.stringify(this.policy);
    // Role ARNs are tokens until apply: count each at the most it may take.
    const bytes = Buffer.byteLength(json.replace(/\$\{[^}]*\}/g, 'x'.repeat(ROLE_ARN_BUDGET)));
    if (bytes > MAX_KEY_POLICY_BYTES) {
      const names = this.decrypters.reduce((sum, d) => sum + d.secrets.length, 0);
      throw new KmsSecretsError(`the key policy of env ${this.env} would be about ${bytes} bytes with its ${names} declared secret names, more than the ${MAX_KEY_POLICY_BYTES} KMS allows`, {
        hint: 'shorter secret names, fewer secrets per env (one JSON secret can hold several values), or a second env',
      });
    }
    return json;
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

/**
 * KMS (JSON 1.1, target prefix `TrentService`): symmetric keys, aliases and the cryptographic calls,
 * with KMS's key references (id, key ARN, alias name, alias ARN) and error types. Key material is
 * kept in kms.json (mode 0600) under the state folder; rotation appends a material version.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { validateResourcePolicy } from '@cloud-copilot/iam-policy';
import { KMS_ENCRYPT_LIMIT } from '../lib/formats.ts';
import { invalidPrincipal } from './authorize.ts';
import { open, parseBlob, seal, type EncryptionContext } from './kms-ciphertext.ts';
import { ACCOUNT_ID, AwsError, epochSeconds, paginate, type Call, type ContextValues, type JsonInput, type JsonOperations } from './protocol.ts';
import { JsonStore } from './state.ts';

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';
type Tag = { TagKey: string; TagValue: string };

interface KeyRecord {
  keyId: string;
  region: string;
  description: string;
  creationDate: number;
  state: KeyState;
  deletionDate?: number;
  pendingWindowInDays?: number;
  policy: string;
  manager: 'CUSTOMER' | 'AWS';
  /** Set while automatic rotation is enabled. */
  rotationPeriodInDays?: number;
  tags: Tag[];
  /** Base64 AES-256 keys, oldest first; the last one encrypts. */
  materials: string[];
}

interface AliasRecord {
  name: string;
  region: string;
  targetKeyId: string;
  creationDate: number;
  lastUpdatedDate: number;
}

interface KmsState {
  keys: KeyRecord[];
  aliases: AliasRecord[];
}

const ALGORITHM = 'SYMMETRIC_DEFAULT';
const DAY_SECONDS = 86_400;
const DEFAULT_ROTATION_DAYS = 365;
const DEFAULT_DELETION_WINDOW_DAYS = 30;
const MAX_CIPHERTEXT_BYTES = 6144;

/** The policy KMS gives a key created without one: the account's IAM policies decide. */
export function defaultKeyPolicy(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` },
      Action: 'kms:*',
      Resource: '*',
    }],
  });
}

function keyArn(region: string, keyId: string): string {
  return `arn:aws:kms:${region}:${ACCOUNT_ID}:key/${keyId}`;
}

function aliasArn(region: string, name: string): string {
  return `arn:aws:kms:${region}:${ACCOUNT_ID}:${name}`;
}

/** The condition keys KMS sets for a cryptographic request with this encryption context. */
function cryptoContext(context: EncryptionContext): ContextValues {
  const values: ContextValues = {
    'kms:CallerAccount': ACCOUNT_ID,
    'kms:EncryptionAlgorithm': ALGORITHM,
    'kms:EncryptionContextKeys': Object.keys(context),
  };
  for (const [key, value] of Object.entries(context)) values[`kms:EncryptionContext:${key}`] = value;
  return values;
}

export class Kms {
  private readonly store: JsonStore<KmsState>;

  constructor(dir: string) {
    this.store = new JsonStore<KmsState>(dir, 'kms', () => ({ keys: [], aliases: [] }));
  }

  readonly operations: JsonOperations = {
    CreateKey: (input, call) => {
      call.authorize('kms:CreateKey', '*');
      this.requireSupported(input);
      const keyId = randomUUID();
      const given = input.optionalString('Policy');
      if (given !== undefined) requireKeyPolicy(call, input, keyArn(call.region, keyId), given);
      const key = this.createKey(call.region, keyId, {
        description: input.optionalString('Description') ?? '',
        policy: given ?? defaultKeyPolicy(),
        manager: 'CUSTOMER',
        tags: input.optionalList<Tag>('Tags') ?? [],
      });
      return { KeyMetadata: this.metadata(key) };
    },
    DescribeKey: (input, call) => {
      const key = this.resolveKey(call.region, input.string('KeyId'), true);
      call.authorize('kms:DescribeKey', this.arn(key), {}, key.policy);
      return { KeyMetadata: this.metadata(key) };
    },
    ListKeys: (input, call) => {
      call.authorize('kms:ListKeys', '*');
      const keys = this.store.data.keys.filter((key) => key.region === call.region);
      const { page, nextMarker } = paginate(keys, input.optionalNumber('Limit') ?? 1000, input.optionalString('Marker'));
      return { Keys: page.map((key) => ({ KeyId: key.keyId, KeyArn: this.arn(key) })), Truncated: Boolean(nextMarker), NextMarker: nextMarker };
    },
    GetKeyPolicy: (input, call) => {
      const key = this.managedKey(input, call, 'kms:GetKeyPolicy');
      requireDefaultPolicyName(input);
      return { Policy: key.policy, PolicyName: 'default' };
    },
    PutKeyPolicy: (input, call) => {
      const key = this.managedKey(input, call, 'kms:PutKeyPolicy');
      requireDefaultPolicyName(input);
      const policy = input.string('Policy');
      requireKeyPolicy(call, input, this.arn(key), policy);
      key.policy = policy;
      this.store.save();
      return {};
    },
    GetKeyRotationStatus: (input, call) => {
      const key = this.managedKey(input, call, 'kms:GetKeyRotationStatus');
      const period = key.rotationPeriodInDays;
      return {
        KeyId: this.arn(key),
        KeyRotationEnabled: period !== undefined,
        RotationPeriodInDays: period,
        NextRotationDate: period === undefined ? undefined : key.creationDate + period * DAY_SECONDS,
      };
    },
    EnableKeyRotation: (input, call) => {
      const key = this.managedKey(input, call, 'kms:EnableKeyRotation');
      this.requireUsable(key);
      const period = input.optionalNumber('RotationPeriodInDays') ?? DEFAULT_ROTATION_DAYS;
      if (!Number.isInteger(period) || period < 90 || period > 2560) {
        throw new AwsError('ValidationException', `1 validation error detected: Value '${period}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between 90 and 2560`);
      }
      key.rotationPeriodInDays = period;
      this.store.save();
      return {};
    },
    DisableKeyRotation: (input, call) => {
      const key = this.managedKey(input, call, 'kms:DisableKeyRotation');
      this.requireUsable(key);
      delete key.rotationPeriodInDays;
      this.store.save();
      return {};
    },
    RotateKeyOnDemand: (input, call) => {
      const key = this.managedKey(input, call, 'kms:RotateKeyOnDemand');
      this.requireUsable(key);
      key.materials.push(randomBytes(32).toString('base64'));
      this.store.save();
      return { KeyId: key.keyId };
    },
    ListResourceTags: (input, call) => {
      const key = this.managedKey(input, call, 'kms:ListResourceTags');
      return { Tags: key.tags, Truncated: false };
    },
    TagResource: (input, call) => {
      const key = this.managedKey(input, call, 'kms:TagResource');
      for (const tag of input.optionalList<Tag>('Tags') ?? []) {
        key.tags = [...key.tags.filter((t) => t.TagKey !== tag.TagKey), { TagKey: tag.TagKey, TagValue: tag.TagValue }];
      }
      this.store.save();
      return {};
    },
    UntagResource: (input, call) => {
      const key = this.managedKey(input, call, 'kms:UntagResource');
      const removed = new Set(input.optionalList<string>('TagKeys') ?? []);
      key.tags = key.tags.filter((tag) => !removed.has(tag.TagKey));
      this.store.save();
      return {};
    },
    UpdateKeyDescription: (input, call) => {
      const key = this.managedKey(input, call, 'kms:UpdateKeyDescription');
      key.description = input.string('Description');
      this.store.save();
      return {};
    },
    EnableKey: (input, call) => this.setEnabled(input, call, true),
    DisableKey: (input, call) => this.setEnabled(input, call, false),
    ScheduleKeyDeletion: (input, call) => {
      const key = this.managedKey(input, call, 'kms:ScheduleKeyDeletion');
      if (key.state === 'PendingDeletion') throw this.invalidState(key);
      const days = input.optionalNumber('PendingWindowInDays') ?? DEFAULT_DELETION_WINDOW_DAYS;
      if (!Number.isInteger(days) || days < 7 || days > 30) {
        throw new AwsError('ValidationException', `1 validation error detected: Value '${days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`);
      }
      key.state = 'PendingDeletion';
      key.pendingWindowInDays = days;
      key.deletionDate = Math.floor(epochSeconds()) + days * DAY_SECONDS;
      this.store.save();
      return { KeyId: this.arn(key), DeletionDate: key.deletionDate, KeyState: key.state, PendingWindowInDays: days };
    },
    CancelKeyDeletion: (input, call) => {
      const key = this.managedKey(input, call, 'kms:CancelKeyDeletion');
      if (key.state !== 'PendingDeletion') throw this.invalidState(key);
      key.state = 'Disabled'; // as in KMS: a key whose deletion is cancelled comes back disabled
      delete key.deletionDate;
      delete key.pendingWindowInDays;
      this.store.save();
      return { KeyId: this.arn(key) };
    },
    CreateAlias: (input, call) => {
      const name = requireAliasName(input.string('AliasName'));
      const key = this.resolveKey(call.region, input.string('TargetKeyId'), false);
      call.authorize('kms:CreateAlias', aliasArn(call.region, name));
      call.authorize('kms:CreateAlias', this.arn(key), {}, key.policy);
      if (key.state === 'PendingDeletion') throw this.invalidState(key);
      if (this.findAlias(call.region, name)) {
        throw new AwsError('AlreadyExistsException', `An alias with the name ${aliasArn(call.region, name)} already exists`);
      }
      const now = epochSeconds();
      this.store.data.aliases.push({ name, region: call.region, targetKeyId: key.keyId, creationDate: now, lastUpdatedDate: now });
      this.store.save();
      return {};
    },
    ListAliases: (input, call) => {
      call.authorize('kms:ListAliases', '*');
      const keyRef = input.optionalString('KeyId');
      const target = keyRef === undefined ? undefined : this.resolveKey(call.region, keyRef, false).keyId;
      const aliases = this.store.data.aliases
        .filter((alias) => alias.region === call.region && (target === undefined || alias.targetKeyId === target))
        .sort((a, b) => a.name.localeCompare(b.name));
      const { page, nextMarker } = paginate(aliases, input.optionalNumber('Limit') ?? 100, input.optionalString('Marker'));
      return {
        Aliases: page.map((alias) => ({
          AliasName: alias.name,
          AliasArn: aliasArn(alias.region, alias.name),
          TargetKeyId: alias.targetKeyId,
          CreationDate: alias.creationDate,
          LastUpdatedDate: alias.lastUpdatedDate,
        })),
        Truncated: Boolean(nextMarker),
        NextMarker: nextMarker,
      };
    },
    UpdateAlias: (input, call) => {
      const alias = this.requireAlias(call.region, input.string('AliasName'));
      const key = this.resolveKey(call.region, input.string('TargetKeyId'), false);
      call.authorize('kms:UpdateAlias', aliasArn(call.region, alias.name));
      // As in KMS: permission on the alias, the key it points at now, and the new key.
      const current = this.findKey(call.region, alias.targetKeyId);
      if (current) call.authorize('kms:UpdateAlias', this.arn(current), {}, current.policy);
      call.authorize('kms:UpdateAlias', this.arn(key), {}, key.policy);
      if (key.state === 'PendingDeletion') throw this.invalidState(key);
      alias.targetKeyId = key.keyId;
      alias.lastUpdatedDate = epochSeconds();
      this.store.save();
      return {};
    },
    DeleteAlias: (input, call) => {
      const alias = this.requireAlias(call.region, input.string('AliasName'));
      call.authorize('kms:DeleteAlias', aliasArn(call.region, alias.name));
      const target = this.findKey(call.region, alias.targetKeyId);
      if (target) call.authorize('kms:DeleteAlias', this.arn(target), {}, target.policy);
      this.store.data.aliases = this.store.data.aliases.filter((a) => a !== alias);
      this.store.save();
      return {};
    },
    Encrypt: (input, call) => {
      const key = this.resolveKey(call.region, input.string('KeyId'), true);
      const plaintext = input.blob('Plaintext');
      requireLength('plaintext', plaintext, KMS_ENCRYPT_LIMIT);
      requireAlgorithm(input.optionalString('EncryptionAlgorithm'));
      const context = input.optionalStringMap('EncryptionContext') ?? {};
      call.authorize('kms:Encrypt', this.arn(key), cryptoContext(context), key.policy);
      return { CiphertextBlob: this.sealWith(key, plaintext, context).toString('base64'), KeyId: this.arn(key), EncryptionAlgorithm: ALGORITHM };
    },
    Decrypt: (input, call) => {
      const context = input.optionalStringMap('EncryptionContext') ?? {};
      requireAlgorithm(input.optionalString('EncryptionAlgorithm'));
      const { key, plaintext } = this.openBlob(call, input.blob('CiphertextBlob'), input.optionalString('KeyId'), context, 'kms:Decrypt');
      return { Plaintext: plaintext.toString('base64'), KeyId: this.arn(key), EncryptionAlgorithm: ALGORITHM };
    },
    ReEncrypt: (input, call) => {
      const sourceContext = input.optionalStringMap('SourceEncryptionContext') ?? {};
      const source = this.openBlob(call, input.blob('CiphertextBlob'), input.optionalString('SourceKeyId'), sourceContext, 'kms:ReEncryptFrom');
      const destination = this.resolveKey(call.region, input.string('DestinationKeyId'), true);
      const destinationContext = input.optionalStringMap('DestinationEncryptionContext') ?? {};
      call.authorize('kms:ReEncryptTo', this.arn(destination), cryptoContext(destinationContext), destination.policy);
      return {
        CiphertextBlob: this.sealWith(destination, source.plaintext, destinationContext).toString('base64'),
        SourceKeyId: this.arn(source.key),
        KeyId: this.arn(destination),
        SourceEncryptionAlgorithm: ALGORITHM,
        DestinationEncryptionAlgorithm: ALGORITHM,
      };
    },
    GenerateDataKey: (input, call) => {
      const { key, dataKey, ciphertext } = this.generateDataKey(input, call, 'kms:GenerateDataKey');
      return { CiphertextBlob: ciphertext.toString('base64'), Plaintext: dataKey.toString('base64'), KeyId: this.arn(key) };
    },
    GenerateDataKeyWithoutPlaintext: (input, call) => {
      const { key, ciphertext } = this.generateDataKey(input, call, 'kms:GenerateDataKeyWithoutPlaintext');
      return { CiphertextBlob: ciphertext.toString('base64'), KeyId: this.arn(key) };
    },
  };

  /** Encrypts for another local service (SSM SecureString, Secrets Manager) without a KMS request. */
  encryptFor(region: string, keyRef: string, plaintext: Buffer, context: EncryptionContext): { ciphertext: Buffer; keyArn: string } {
    const key = this.resolveKey(region, keyRef, true);
    return { ciphertext: this.sealWith(key, plaintext, context), keyArn: this.arn(key) };
  }

  decryptFor(region: string, ciphertext: Buffer, context: EncryptionContext): Buffer {
    const sealed = parseBlob(ciphertext);
    const key = sealed && this.findKey(region, sealed.keyId);
    if (!sealed || !key) throw new AwsError('InvalidCiphertextException', 'The stored value cannot be decrypted');
    this.requireUsable(key);
    const plaintext = open(sealed, key.materials.map((m) => Buffer.from(m, 'base64')), context);
    if (!plaintext) throw new AwsError('InvalidCiphertextException', 'The stored value cannot be decrypted');
    return plaintext;
  }

  /** The ARN of an AWS managed key such as `alias/aws/ssm`, created on first use as AWS does. */
  awsManagedKeyArn(region: string, alias: `alias/aws/${string}`): string {
    const existing = this.findAlias(region, alias);
    if (existing) return keyArn(region, existing.targetKeyId);
    const service = alias.slice('alias/aws/'.length);
    const key = this.createKey(region, randomUUID(), { description: `Default key that protects my ${service} data when no other key is defined`, policy: defaultKeyPolicy(), manager: 'AWS', tags: [] });
    const now = epochSeconds();
    this.store.data.aliases.push({ name: alias, region, targetKeyId: key.keyId, creationDate: now, lastUpdatedDate: now });
    this.store.save();
    return this.arn(key);
  }

  /** A key reference as KMS resolves it, to the key's ARN; NotFoundException when there is no such key. */
  keyArnOf(region: string, keyRef: string): string {
    return this.arn(this.resolveKey(region, keyRef, true));
  }

  private createKey(region: string, keyId: string, fields: Pick<KeyRecord, 'description' | 'policy' | 'manager' | 'tags'>): KeyRecord {
    const key: KeyRecord = {
      keyId,
      region,
      creationDate: epochSeconds(),
      state: 'Enabled',
      materials: [randomBytes(32).toString('base64')],
      ...fields,
    };
    this.store.data.keys.push(key);
    this.store.save();
    return key;
  }

  private requireSupported(input: JsonInput): void {
    const usage = input.optionalString('KeyUsage') ?? 'ENCRYPT_DECRYPT';
    const spec = input.optionalString('KeySpec') ?? input.optionalString('CustomerMasterKeySpec') ?? ALGORITHM;
    const origin = input.optionalString('Origin') ?? 'AWS_KMS';
    if (usage !== 'ENCRYPT_DECRYPT' || spec !== ALGORITHM || origin !== 'AWS_KMS' || input.optionalBoolean('MultiRegion')) {
      throw new AwsError('UnsupportedOperationException',
        'The local endpoint supports single-Region symmetric keys only (KeyUsage ENCRYPT_DECRYPT, KeySpec SYMMETRIC_DEFAULT, Origin AWS_KMS)');
    }
  }

  private generateDataKey(input: JsonInput, call: Call, action: string): { key: KeyRecord; dataKey: Buffer; ciphertext: Buffer } {
    const key = this.resolveKey(call.region, input.string('KeyId'), true);
    const context = input.optionalStringMap('EncryptionContext') ?? {};
    const length = dataKeyLength(input.optionalString('KeySpec'), input.optionalNumber('NumberOfBytes'));
    call.authorize(action, this.arn(key), cryptoContext(context), key.policy);
    const dataKey = randomBytes(length);
    return { key, dataKey, ciphertext: this.sealWith(key, dataKey, context) };
  }

  private openBlob(call: Call, blob: Buffer, keyRef: string | undefined, context: EncryptionContext, action: string): { key: KeyRecord; plaintext: Buffer } {
    requireLength('ciphertextBlob', blob, MAX_CIPHERTEXT_BYTES);
    const sealed = parseBlob(blob);
    const key = sealed && this.findKey(call.region, sealed.keyId);
    if (!sealed || !key) throw new AwsError('InvalidCiphertextException', '');
    if (keyRef !== undefined && this.resolveKey(call.region, keyRef, true).keyId !== key.keyId) {
      throw new AwsError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
    }
    call.authorize(action, this.arn(key), cryptoContext(context), key.policy);
    this.requireUsable(key);
    const plaintext = open(sealed, key.materials.map((m) => Buffer.from(m, 'base64')), context);
    if (!plaintext) throw new AwsError('InvalidCiphertextException', '');
    return { key, plaintext };
  }

  private sealWith(key: KeyRecord, plaintext: Buffer, context: EncryptionContext): Buffer {
    this.requireUsable(key);
    return seal(key.keyId, Buffer.from(key.materials.at(-1)!, 'base64'), plaintext, context);
  }

  private setEnabled(input: JsonInput, call: Call, enabled: boolean): object {
    const key = this.managedKey(input, call, enabled ? 'kms:EnableKey' : 'kms:DisableKey');
    if (key.state === 'PendingDeletion') throw this.invalidState(key);
    key.state = enabled ? 'Enabled' : 'Disabled';
    this.store.save();
    return {};
  }

  /** A key named by id or key ARN (no aliases, as for KMS's management calls), after authorization. */
  private managedKey(input: JsonInput, call: Call, action: string): KeyRecord {
    const key = this.resolveKey(call.region, input.string('KeyId'), false);
    call.authorize(action, this.arn(key), {}, key.policy);
    return key;
  }

  private resolveKey(region: string, keyRef: string, aliasesAllowed: boolean): KeyRecord {
    const aliasName = keyRef.startsWith('alias/') ? keyRef : /^arn:aws:kms:[^:]*:\d{12}:(alias\/.+)$/.exec(keyRef)?.[1];
    if (aliasName) {
      if (!aliasesAllowed) throw new AwsError('NotFoundException', `Invalid keyId '${keyRef}': this operation takes a key ID or key ARN, not an alias`);
      if (keyRef.startsWith('arn:') && !keyRef.startsWith(`arn:aws:kms:${region}:`)) throw notFound(keyRef);
      const alias = this.findAlias(region, aliasName);
      if (!alias) throw new AwsError('NotFoundException', `Alias ${aliasArn(region, aliasName)} is not found.`);
      return this.findKey(region, alias.targetKeyId) ?? fail(notFound(keyRef));
    }
    const arnMatch = /^arn:aws:kms:([^:]*):(\d{12}):key\/(.+)$/.exec(keyRef);
    if (arnMatch && (arnMatch[1] !== region || arnMatch[2] !== ACCOUNT_ID)) throw notFound(keyRef);
    return this.findKey(region, arnMatch ? arnMatch[3]! : keyRef) ?? fail(notFound(keyArn(region, keyRef)));
  }

  private findKey(region: string, keyId: string): KeyRecord | undefined {
    return this.store.data.keys.find((key) => key.keyId === keyId && key.region === region);
  }

  private findAlias(region: string, name: string): AliasRecord | undefined {
    return this.store.data.aliases.find((alias) => alias.name === name && alias.region === region);
  }

  private requireAlias(region: string, name: string): AliasRecord {
    return this.findAlias(region, name) ?? fail(new AwsError('NotFoundException', `Alias ${aliasArn(region, name)} is not found.`));
  }

  private requireUsable(key: KeyRecord): void {
    if (key.state === 'Disabled') throw new AwsError('DisabledException', `${this.arn(key)} is disabled.`);
    if (key.state === 'PendingDeletion') throw this.invalidState(key);
  }

  private invalidState(key: KeyRecord): AwsError {
    return new AwsError('KMSInvalidStateException', `${this.arn(key)} is ${key.state === 'PendingDeletion' ? 'pending deletion' : key.state.toLowerCase()}.`);
  }

  private arn(key: KeyRecord): string {
    return keyArn(key.region, key.keyId);
  }

  private metadata(key: KeyRecord): Record<string, unknown> {
    return {
      AWSAccountId: ACCOUNT_ID,
      KeyId: key.keyId,
      Arn: this.arn(key),
      CreationDate: key.creationDate,
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: key.state,
      DeletionDate: key.deletionDate,
      PendingDeletionWindowInDays: key.pendingWindowInDays,
      Origin: 'AWS_KMS',
      KeyManager: key.manager,
      CustomerMasterKeySpec: ALGORITHM,
      KeySpec: ALGORITHM,
      EncryptionAlgorithms: [ALGORITHM],
      MultiRegion: false,
    };
  }
}

function notFound(keyRef: string): AwsError {
  return new AwsError('NotFoundException', `Key '${keyRef}' does not exist`);
}

function fail(error: AwsError): never {
  throw error;
}

function requireLength(member: string, value: Buffer, max: number): void {
  if (value.length === 0) {
    throw new AwsError('ValidationException', `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length greater than or equal to 1`);
  }
  if (value.length > max) {
    throw new AwsError('ValidationException', `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  }
}

function requireAlgorithm(algorithm: string | undefined): void {
  if (algorithm !== undefined && algorithm !== ALGORITHM) {
    throw new AwsError('InvalidKeyUsageException', `The local endpoint supports only the ${ALGORITHM} encryption algorithm, not ${algorithm}`);
  }
}

function requireDefaultPolicyName(input: JsonInput): void {
  const name = input.optionalString('PolicyName') ?? 'default';
  if (name !== 'default') throw new AwsError('NotFoundException', `No such policy exists: ${name}. The only key policy name is "default"`);
}

/**
 * A key policy as KMS accepts it for the key `arn`: JSON in the policy grammar, principals without a wildcard
 * inside, and (KMS's lockout safety check, unless BypassPolicyLockoutSafetyCheck) one that still lets the caller,
 * by its identity policies and this key policy, call PutKeyPolicy afterwards. Whether the principals it names
 * exist, as KMS also requires, is not checked.
 */
function requireKeyPolicy(call: Call, input: JsonInput, arn: string, policy: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw new AwsError('MalformedPolicyDocumentException', 'The new key policy is not valid JSON');
  }
  const errors = validateResourcePolicy(parsed);
  if (errors.length > 0) throw new AwsError('MalformedPolicyDocumentException', `Syntax errors in policy: ${JSON.stringify(errors)}`);
  if (invalidPrincipal(parsed)) throw new AwsError('MalformedPolicyDocumentException', 'Policy contains a statement with one or more invalid principals.');
  if (input.optionalBoolean('BypassPolicyLockoutSafetyCheck') !== true && !call.allows('kms:PutKeyPolicy', arn, {}, policy)) {
    throw new AwsError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  }
}

function requireAliasName(name: string): string {
  if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.length > 256) {
    throw new AwsError('ValidationException', `Alias name ${name} must start with "alias/" followed by letters, digits, "/", "_" or "-"`);
  }
  if (name.startsWith('alias/aws/')) {
    throw new AwsError('NotAuthorizedException', `Alias names that begin with "alias/aws/" are reserved for AWS managed keys: ${name}`);
  }
  return name;
}

function dataKeyLength(keySpec: string | undefined, numberOfBytes: number | undefined): number {
  if ((keySpec === undefined) === (numberOfBytes === undefined)) {
    throw new AwsError('ValidationException', 'Please specify either number of bytes or key spec.');
  }
  if (keySpec === 'AES_256') return 32;
  if (keySpec === 'AES_128') return 16;
  if (keySpec !== undefined) throw new AwsError('ValidationException', `1 validation error detected: Value '${keySpec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`);
  if (!Number.isInteger(numberOfBytes) || numberOfBytes! < 1 || numberOfBytes! > 1024) {
    throw new AwsError('ValidationException', `1 validation error detected: Value '${numberOfBytes}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`);
  }
  return numberOfBytes!;
}

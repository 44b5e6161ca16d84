/**
 * Secrets Manager (JSON 1.1, target prefix `secretsmanager`): CreateSecret, GetSecretValue and
 * PutSecretValue with version ids and the AWSCURRENT/AWSPREVIOUS stages. Values are encrypted at rest
 * with a key of the local KMS (`alias/aws/secretsmanager` unless KmsKeyId names another) and the
 * secret ARN and version id as encryption context.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kms } from './kms.ts';
import { ACCOUNT_ID, AwsError, epochSeconds, type Call, type JsonInput, type JsonOperations } from './protocol.ts';
import { JsonStore } from './state.ts';

interface SecretVersion {
  versionId: string;
  kind: 'string' | 'binary';
  /** Base64 ciphertext of the value. */
  ciphertext: string;
  stages: string[];
  createdDate: number;
}

interface SecretRecord {
  name: string;
  region: string;
  arn: string;
  description?: string;
  keyArn: string;
  customerKey: boolean;
  createdDate: number;
  versions: SecretVersion[];
}

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const MANAGED_KEY_ALIAS = 'alias/aws/secretsmanager';

function randomSuffix(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(6)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

type SecretValue = { kind: 'string' | 'binary'; bytes: Buffer };

function secretValue(input: JsonInput, required: boolean): SecretValue | undefined {
  const text = input.optionalString('SecretString');
  const binary = input.optionalBlob('SecretBinary');
  if (text !== undefined && binary !== undefined) throw new AwsError('InvalidParameterException', 'You can\'t specify both a binary secret value and a string secret value in the same secret.');
  if (text === undefined && binary === undefined) {
    if (required) throw new AwsError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
    return undefined;
  }
  return text !== undefined ? { kind: 'string', bytes: Buffer.from(text, 'utf8') } : { kind: 'binary', bytes: binary! };
}

export class SecretsManager {
  private readonly store: JsonStore<{ secrets: SecretRecord[] }>;

  constructor(dir: string, private readonly kms: Kms) {
    this.store = new JsonStore(dir, 'secrets-manager', () => ({ secrets: [] }));
  }

  readonly operations: JsonOperations = {
    CreateSecret: (input, call) => {
      const name = input.string('Name');
      if (!/^[\w/+=.@-]{1,512}$/.test(name)) throw new AwsError('ValidationException', `Invalid name ${name}: use letters, digits and /_+=.@-`);
      // The ARN ends in six random characters, so a secret created again under the same name differs.
      const arn = `arn:aws:secretsmanager:${call.region}:${ACCOUNT_ID}:secret:${name}-${randomSuffix()}`;
      call.authorize('secretsmanager:CreateSecret', arn);
      if (this.store.data.secrets.some((s) => s.name === name && s.region === call.region)) {
        throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
      }
      const keyId = input.optionalString('KmsKeyId');
      const secret: SecretRecord = {
        name,
        region: call.region,
        arn,
        description: input.optionalString('Description'),
        keyArn: keyId ? this.kms.keyArnOf(call.region, keyId) : this.kms.awsManagedKeyArn(call.region, MANAGED_KEY_ALIAS),
        customerKey: keyId !== undefined,
        createdDate: epochSeconds(),
        versions: [],
      };
      const value = secretValue(input, false);
      const version = value && this.addVersion(call, secret, value, input.optionalString('ClientRequestToken') ?? randomUUID(), [CURRENT]);
      this.store.data.secrets.push(secret);
      this.store.save();
      return { ARN: arn, Name: name, VersionId: version?.versionId };
    },
    GetSecretValue: (input, call) => {
      const secret = this.secret(call, input.string('SecretId'), 'secretsmanager:GetSecretValue');
      const versionId = input.optionalString('VersionId');
      const stage = input.optionalString('VersionStage') ?? (versionId ? undefined : CURRENT);
      const version = secret.versions.find((v) => (!versionId || v.versionId === versionId) && (!stage || v.stages.includes(stage)));
      if (!version) {
        throw new AwsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${versionId ? `VersionId: ${versionId}` : `staging label: ${stage}`}`);
      }
      const context = { SecretARN: secret.arn, SecretVersionId: version.versionId };
      if (secret.customerKey) call.authorize('kms:Decrypt', secret.keyArn, this.viaSecretsManager(call, context));
      const bytes = this.kms.decryptFor(call.region, Buffer.from(version.ciphertext, 'base64'), context);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        SecretString: version.kind === 'string' ? bytes.toString('utf8') : undefined,
        SecretBinary: version.kind === 'binary' ? bytes.toString('base64') : undefined,
        VersionStages: version.stages,
        CreatedDate: version.createdDate,
      };
    },
    PutSecretValue: (input, call) => {
      const secret = this.secret(call, input.string('SecretId'), 'secretsmanager:PutSecretValue');
      const value = secretValue(input, true)!;
      const token = input.optionalString('ClientRequestToken') ?? randomUUID();
      const stages = input.optionalList<string>('VersionStages') ?? [CURRENT];
      const existing = secret.versions.find((v) => v.versionId === token);
      if (existing) {
        // A retried request with the same token and value is the same version, not a new one.
        const context = { SecretARN: secret.arn, SecretVersionId: token };
        const same = existing.kind === value.kind && this.kms.decryptFor(call.region, Buffer.from(existing.ciphertext, 'base64'), context).equals(value.bytes);
        if (!same) throw new AwsError('ResourceExistsException', 'You can\'t modify an existing version, you can only create a new version.');
        return { ARN: secret.arn, Name: secret.name, VersionId: existing.versionId, VersionStages: existing.stages };
      }
      const version = this.addVersion(call, secret, value, token, stages);
      this.store.save();
      return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: version.stages };
    },
  };

  private addVersion(call: Call, secret: SecretRecord, value: SecretValue, versionId: string, stages: string[]): SecretVersion {
    if (!/^[\w-]{32,64}$/.test(versionId)) throw new AwsError('ValidationException', 'ClientRequestToken must be 32 to 64 letters, digits, - or _');
    const context = { SecretARN: secret.arn, SecretVersionId: versionId };
    if (secret.customerKey) call.authorize('kms:GenerateDataKey', secret.keyArn, this.viaSecretsManager(call, context));
    const { ciphertext } = this.kms.encryptFor(call.region, secret.keyArn, value.bytes, context);
    if (stages.includes(CURRENT)) {
      for (const version of secret.versions) {
        version.stages = version.stages.filter((s) => s !== PREVIOUS);
        if (version.stages.includes(CURRENT)) version.stages = [...version.stages.filter((s) => s !== CURRENT), PREVIOUS];
      }
    }
    const version: SecretVersion = { versionId, kind: value.kind, ciphertext: ciphertext.toString('base64'), stages, createdDate: epochSeconds() };
    secret.versions.push(version);
    return version;
  }

  /** A secret by name, full ARN or ARN without its random suffix, after authorizing `action` on it. */
  private secret(call: Call, secretId: string, action: string): SecretRecord {
    const secret = this.store.data.secrets.find((s) => s.region === call.region
      && (s.name === secretId || s.arn === secretId || s.arn.slice(0, -7) === secretId));
    call.authorize(action, secret?.arn ?? (secretId.startsWith('arn:') ? secretId : `arn:aws:secretsmanager:${call.region}:${ACCOUNT_ID}:secret:${secretId}`));
    if (!secret) throw new AwsError('ResourceNotFoundException', 'Secrets Manager can\'t find the specified secret.');
    return secret;
  }

  private viaSecretsManager(call: Call, context: Record<string, string>): Record<string, string | string[]> {
    return {
      'kms:ViaService': `secretsmanager.${call.region}.amazonaws.com`,
      'kms:EncryptionContextKeys': Object.keys(context),
      ...Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])),
    };
  }
}

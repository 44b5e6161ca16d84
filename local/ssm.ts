/**
 * SSM Parameter Store (JSON 1.1, target prefix `AmazonSSM`): PutParameter, GetParameter, GetParameters,
 * with versions and `name:version` selectors. SecureString values are encrypted at rest with a key of
 * the local KMS (the AWS managed `alias/aws/ssm` unless KeyId names another) and the parameter ARN as
 * encryption context, as SSM does, and decrypted only when WithDecryption is true.
 */
import type { Kms } from './kms.ts';
import { ACCOUNT_ID, AwsError, epochSeconds, type Call, type JsonOperations } from './protocol.ts';
import { JsonStore } from './state.ts';

type ParameterType = 'String' | 'StringList' | 'SecureString';

interface ParameterVersion {
  version: number;
  type: ParameterType;
  /** The value, or for SecureString the base64 ciphertext. */
  value: string;
  /** For SecureString: the ARN of the key that encrypted the value. */
  keyArn?: string;
  description?: string;
  lastModifiedDate: number;
}

interface ParameterRecord {
  name: string;
  region: string;
  versions: ParameterVersion[];
}

const MAX_VALUE_CHARACTERS = 4096;
const MAX_NAMES_PER_GET = 10;
const MANAGED_KEY_ALIAS = 'alias/aws/ssm';

function parameterArn(region: string, name: string): string {
  return `arn:aws:ssm:${region}:${ACCOUNT_ID}:parameter${name.startsWith('/') ? name : `/${name}`}`;
}

/** `name`, `name:3` or a parameter ARN → the name and the version it selects (latest when none). */
function parseSelector(reference: string): { name: string; selector?: string } {
  const arn = /^arn:aws:ssm:[^:]*:\d{12}:parameter(\/.*)$/.exec(reference);
  const text = arn ? arn[1]! : reference;
  const colon = text.lastIndexOf(':');
  const path = colon < 0 ? text : text.slice(0, colon);
  // An ARN puts a slash before a name that has none: parameter/name.
  const name = arn && !path.slice(1).includes('/') ? path.slice(1) : path;
  return { name, selector: colon < 0 ? undefined : text.slice(colon + 1) };
}

export class Ssm {
  private readonly store: JsonStore<{ parameters: ParameterRecord[] }>;

  constructor(dir: string, private readonly kms: Kms) {
    this.store = new JsonStore(dir, 'ssm', () => ({ parameters: [] }));
  }

  readonly operations: JsonOperations = {
    PutParameter: (input, call) => {
      const name = input.string('Name');
      if (!/^[a-zA-Z0-9_.\-/]{1,2048}$/.test(name)) {
        throw new AwsError('ValidationException', `Parameter name ${name} can contain only letters, digits and _ . - /`);
      }
      const arn = parameterArn(call.region, name);
      call.authorize('ssm:PutParameter', arn);
      const value = input.string('Value');
      if (value.length > MAX_VALUE_CHARACTERS) {
        throw new AwsError('ValidationException', `Standard tier parameters support a maximum parameter value of ${MAX_VALUE_CHARACTERS} characters.`);
      }
      const existing = this.find(call.region, name);
      if (existing && !input.optionalBoolean('Overwrite')) {
        throw new AwsError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
      }
      const type = (input.optionalString('Type') ?? existing?.versions.at(-1)!.type) as ParameterType | undefined;
      if (!type) throw new AwsError('ValidationException', 'A parameter type is required when you create a parameter.');
      if (!['String', 'StringList', 'SecureString'].includes(type)) {
        throw new AwsError('ValidationException', `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`);
      }
      const keyId = input.optionalString('KeyId');
      if (keyId && type !== 'SecureString') throw new AwsError('ValidationException', 'KeyId is required for SecureString type parameter only.');
      const stored = type === 'SecureString' ? this.encrypt(call, arn, value, keyId) : { value };
      const record = existing ?? { name, region: call.region, versions: [] };
      const version = (record.versions.at(-1)?.version ?? 0) + 1;
      record.versions.push({ version, type, ...stored, description: input.optionalString('Description'), lastModifiedDate: epochSeconds() });
      if (!existing) this.store.data.parameters.push(record);
      this.store.save();
      return { Version: version, Tier: 'Standard' };
    },
    GetParameter: (input, call) => {
      const found = this.read(call, input.string('Name'), Boolean(input.optionalBoolean('WithDecryption')), 'ssm:GetParameter');
      if ('invalid' in found) {
        throw found.missingVersion
          ? new AwsError('ParameterVersionNotFound', `Systems Manager could not find version ${found.missingVersion} of ${found.invalid}. Verify the version and try again.`)
          : new AwsError('ParameterNotFound', `Parameter ${found.invalid} not found.`);
      }
      return { Parameter: found };
    },
    GetParameters: (input, call) => {
      const names = input.optionalList<string>('Names') ?? [];
      if (names.length < 1 || names.length > MAX_NAMES_PER_GET) {
        throw new AwsError('ValidationException', `1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length between 1 and ${MAX_NAMES_PER_GET}`);
      }
      const withDecryption = Boolean(input.optionalBoolean('WithDecryption'));
      const results = [...new Set(names)].map((reference) => this.read(call, reference, withDecryption, 'ssm:GetParameters'));
      return {
        Parameters: results.filter((r) => !('invalid' in r)),
        InvalidParameters: results.flatMap((r) => ('invalid' in r ? [r.reference] : [])),
      };
    },
  };

  private find(region: string, name: string): ParameterRecord | undefined {
    return this.store.data.parameters.find((p) => p.name === name && p.region === region);
  }

  private read(call: Call, reference: string, withDecryption: boolean, action: string):
    Record<string, unknown> | { invalid: string; reference: string; missingVersion?: string } {
    const { name, selector } = parseSelector(reference);
    const arn = parameterArn(call.region, name);
    call.authorize(action, arn);
    const record = this.find(call.region, name);
    if (!record) return { invalid: name, reference };
    const version = selector === undefined ? record.versions.at(-1) : record.versions.find((v) => String(v.version) === selector);
    if (!version) return { invalid: name, reference, missingVersion: selector };
    const decrypt = version.type === 'SecureString' && withDecryption;
    return {
      Name: record.name,
      Type: version.type,
      Value: decrypt ? this.decrypt(call, arn, version) : version.value,
      Version: version.version,
      Selector: selector === undefined ? undefined : `:${selector}`,
      LastModifiedDate: version.lastModifiedDate,
      ARN: arn,
      DataType: 'text',
    };
  }

  private encrypt(call: Call, arn: string, value: string, keyId: string | undefined): { value: string; keyArn: string } {
    const keyArn = keyId ? this.kms.keyArnOf(call.region, keyId) : this.kms.awsManagedKeyArn(call.region, MANAGED_KEY_ALIAS);
    // With a customer managed key SSM calls KMS with the caller's credentials; the AWS managed key needs no grant.
    if (keyId) call.authorize('kms:Encrypt', keyArn, this.viaSsm(call, arn));
    const { ciphertext } = this.kms.encryptFor(call.region, keyArn, Buffer.from(value, 'utf8'), { PARAMETER_ARN: arn });
    return { value: ciphertext.toString('base64'), keyArn };
  }

  private decrypt(call: Call, arn: string, version: ParameterVersion): string {
    if (version.keyArn !== this.kms.awsManagedKeyArn(call.region, MANAGED_KEY_ALIAS)) {
      call.authorize('kms:Decrypt', version.keyArn!, this.viaSsm(call, arn));
    }
    return this.kms.decryptFor(call.region, Buffer.from(version.value, 'base64'), { PARAMETER_ARN: arn }).toString('utf8');
  }

  private viaSsm(call: Call, arn: string): Record<string, string | string[]> {
    return { 'kms:ViaService': `ssm.${call.region}.amazonaws.com`, 'kms:EncryptionContext:PARAMETER_ARN': arn, 'kms:EncryptionContextKeys': ['PARAMETER_ARN'] };
  }
}

import { buildClient, CommitmentPolicy, getClient, KmsKeyringNode } from '@aws-crypto/client-node';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand,
  EnableKeyRotationCommand, EncryptCommand, GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand, GetKeyPolicyCommand,
  GetKeyRotationStatusCommand, KMS, KMSClient, ListAliasesCommand, ListResourceTagsCommand, PutKeyPolicyCommand, ReEncryptCommand,
  RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand, TagResourceCommand, UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, KMS_ENCRYPT_LIMIT } from '../../lib/formats.ts';
import { TEST_CREDENTIALS } from '../../local/terraform-provider.ts';
import { roleWithPolicy } from '../support/roles.ts';
import { REGION, startEndpoint, type TestEndpoint } from './support.ts';

const context = { env: 'staging', service: 'api', secret: 'password' };

let local: TestEndpoint;
let kms: KMSClient;

beforeAll(async () => {
  local = await startEndpoint();
  kms = local.clients().kms;
});
afterAll(() => local.close());

async function newKey(description = 'test key'): Promise<{ keyId: string; arn: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: description }));
  return { keyId: KeyMetadata!.KeyId!, arn: KeyMetadata!.Arn! };
}

describe('KMS keys', () => {
  it('are symmetric, enabled, and named by an ARN with the request Region and the local account', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'described', Tags: [{ TagKey: 'env', TagValue: 'staging' }] }));
    expect(KeyMetadata).toMatchObject({ Enabled: true, KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'described' });
    expect(KeyMetadata!.Arn).toBe(`arn:aws:kms:${REGION}:000000000000:key/${KeyMetadata!.KeyId}`);
    const tags = await kms.send(new ListResourceTagsCommand({ KeyId: KeyMetadata!.KeyId }));
    expect(tags.Tags).toEqual([{ TagKey: 'env', TagValue: 'staging' }]);
  });

  it('get the default key policy when created without one', async () => {
    const { keyId } = await newKey();
    const { Policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    expect(JSON.parse(Policy!).Statement[0].Principal).toEqual({ AWS: 'arn:aws:iam::000000000000:root' });
  });

  it('report rotation once enabled, with its period', async () => {
    const { keyId } = await newKey();
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 180 }));
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 180 });
  });
});

describe('Encrypt and Decrypt', () => {
  it('round-trip a secret with its encryption context, and Decrypt needs no key id', async () => {
    const { arn } = await newKey();
    const encrypted = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('hunter2'), EncryptionContext: context }));
    expect(encrypted.KeyId).toBe(arn);
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(decrypted.Plaintext!).toString()).toBe('hunter2');
    expect(decrypted.KeyId).toBe(arn);
  });

  it('produce the local ciphertext format, never mistakable for a real KMS blob', async () => {
    const { arn } = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    expect(Buffer.from(CiphertextBlob!).subarray(0, 4).toString()).toBe('LKMS');
    expect(detectFormat(CiphertextBlob!)).toBe('local');
  });

  it('refuse to decrypt with a different encryption context: InvalidCiphertextException', async () => {
    const { arn } = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('hunter2'), EncryptionContext: context }));
    await expect(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { ...context, service: 'web' } })))
      .rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    await expect(kms.send(new DecryptCommand({ CiphertextBlob }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('reject a tampered ciphertext: InvalidCiphertextException', async () => {
    const { arn } = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('hunter2') }));
    const tampered = Buffer.from(CiphertextBlob!);
    tampered[tampered.length - 20]! ^= 1;
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: tampered }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it(`take at most ${KMS_ENCRYPT_LIMIT} bytes: more is a ValidationException`, async () => {
    const { arn } = await newKey();
    await expect(kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.alloc(KMS_ENCRYPT_LIMIT, 1) }))).resolves.toBeDefined();
    await expect(kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.alloc(KMS_ENCRYPT_LIMIT + 1, 1) })))
      .rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('4096') });
  });

  it('name the wrong key when Decrypt is given a KeyId other than the ciphertext\'s: IncorrectKeyException', async () => {
    const first = await newKey();
    const second = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: first.arn, Plaintext: Buffer.from('x') }));
    await expect(kms.send(new DecryptCommand({ CiphertextBlob, KeyId: second.arn }))).rejects.toMatchObject({ name: 'IncorrectKeyException' });
  });

  it('still decrypt ciphertext from before a rotation', async () => {
    const { arn } = await newKey();
    const before = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('old'), EncryptionContext: context }));
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    const after = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('new'), EncryptionContext: context }));
    for (const [blob, expected] of [[before.CiphertextBlob, 'old'], [after.CiphertextBlob, 'new']] as const) {
      const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context }));
      expect(Buffer.from(Plaintext!).toString()).toBe(expected);
    }
  });
});

describe('key references', () => {
  it('resolve a key id, key ARN, alias name and alias ARN to the same key', async () => {
    const { keyId, arn } = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/refs', TargetKeyId: keyId }));
    for (const reference of [keyId, arn, 'alias/refs', `arn:aws:kms:${REGION}:000000000000:alias/refs`]) {
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: reference }));
      expect(KeyMetadata!.Arn).toBe(arn);
    }
  });

  it('answer NotFoundException for an unknown key or alias, and AlreadyExistsException for a taken alias', async () => {
    const { keyId } = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: keyId }));
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: keyId }))).rejects.toMatchObject({ name: 'AlreadyExistsException' });
    await expect(kms.send(new EncryptCommand({ KeyId: 'alias/missing', Plaintext: Buffer.from('x') }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(kms.send(new DescribeKeyCommand({ KeyId: '11111111-2222-3333-4444-555555555555' }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('follow an alias that UpdateAlias points at another key', async () => {
    const first = await newKey();
    const second = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: first.keyId }));
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: second.keyId }));
    const { KeyId } = await kms.send(new EncryptCommand({ KeyId: 'alias/moving', Plaintext: Buffer.from('x') }));
    expect(KeyId).toBe(second.arn);
    const { Aliases } = await kms.send(new ListAliasesCommand({ KeyId: second.keyId }));
    expect(Aliases!.map((a) => a.AliasName)).toEqual(['alias/moving']);
  });

  it('are looked up per Region, as KMS keys are regional', async () => {
    const { arn } = await newKey();
    const elsewhere = new KMSClient({ endpoint: local.endpoint.url, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await expect(elsewhere.send(new DescribeKeyCommand({ KeyId: arn }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });
});

describe('key states', () => {
  it('make a disabled key refuse cryptography: DisabledException', async () => {
    const { arn } = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    await kms.send(new DisableKeyCommand({ KeyId: arn }));
    await expect(kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }))).rejects.toMatchObject({ name: 'DisabledException' });
    await expect(kms.send(new DecryptCommand({ CiphertextBlob }))).rejects.toMatchObject({ name: 'DisabledException' });
  });

  it('make a key pending deletion refuse cryptography: KMSInvalidStateException; cancelling leaves it disabled', async () => {
    const { arn } = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    expect(scheduled.KeyState).toBe('PendingDeletion');
    await expect(kms.send(new DecryptCommand({ CiphertextBlob }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await kms.send(new CancelKeyDeletionCommand({ KeyId: arn }));
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: arn }));
    expect(KeyMetadata!.KeyState).toBe('Disabled');
  });
});

describe('ReEncrypt', () => {
  it('moves a ciphertext to another key and context without returning the plaintext', async () => {
    const source = await newKey();
    const destination = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: source.arn, Plaintext: Buffer.from('moved'), EncryptionContext: context }));
    const newContext = { ...context, env: 'production' };
    const reEncrypted = await kms.send(new ReEncryptCommand({
      CiphertextBlob, SourceEncryptionContext: context, DestinationKeyId: destination.arn, DestinationEncryptionContext: newContext,
    }));
    expect(reEncrypted).toMatchObject({ SourceKeyId: source.arn, KeyId: destination.arn });
    expect(reEncrypted).not.toHaveProperty('Plaintext');
    const { Plaintext, KeyId } = await kms.send(new DecryptCommand({ CiphertextBlob: reEncrypted.CiphertextBlob, EncryptionContext: newContext }));
    expect([Buffer.from(Plaintext!).toString(), KeyId]).toEqual(['moved', destination.arn]);
  });
});

describe('GenerateDataKey', () => {
  it('returns a 256-bit data key and its ciphertext, which decrypts to the same key', async () => {
    const { arn } = await newKey();
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context }));
    expect(dataKey.Plaintext).toHaveLength(32);
    const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(Plaintext!).equals(Buffer.from(dataKey.Plaintext!))).toBe(true);
  });

  it('without plaintext returns only the encrypted data key', async () => {
    const { arn } = await newKey();
    const dataKey = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: arn, NumberOfBytes: 64 }));
    expect(dataKey).not.toHaveProperty('Plaintext');
    const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob }));
    expect(Plaintext).toHaveLength(64);
  });

  it('needs exactly one of KeySpec and NumberOfBytes: ValidationException', async () => {
    const { arn } = await newKey();
    await expect(kms.send(new GenerateDataKeyCommand({ KeyId: arn }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('the AWS Encryption SDK', () => {
  it('round-trips an envelope-encrypted message through the endpoint with KmsKeyringNode', async () => {
    const { arn } = await newKey();
    // The SDK builds its own client per Region, as in production; only the endpoint is overridden.
    const clientProvider = getClient(KMS, { endpoint: local.endpoint.url, credentials: TEST_CREDENTIALS });
    const keyring = new KmsKeyringNode({ generatorKeyId: arn, clientProvider });
    const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const certificate = Buffer.alloc(10_000, 'certificate chain ');
    const { result } = await encrypt(keyring, certificate, { encryptionContext: context });
    expect(detectFormat(result)).toBe('envelope');
    const { plaintext, messageHeader } = await decrypt(keyring, result);
    expect(Buffer.from(plaintext).equals(certificate)).toBe(true);
    expect(messageHeader.encryptionContext).toMatchObject(context);
    expect(messageHeader.encryptedDataKeys[0]!.providerInfo).toBe(arn);
  });
});

describe('operations the endpoint lacks', () => {
  it('are refused at once with a 4xx that names the operation', async () => {
    const response = await fetch(local.endpoint.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'TrentService.Sign', 'content-type': 'application/x-amz-json-1.1', authorization: 'AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/kms/aws4_request' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ __type: 'UnknownOperationException', message: 'The local endpoint does not implement KMS operation Sign' });
  });
});

describe('tags', () => {
  it('are replaced by key on TagResource', async () => {
    const { keyId } = await newKey();
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'a', TagValue: '1' }] }));
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'a', TagValue: '2' }] }));
    expect((await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags).toEqual([{ TagKey: 'a', TagValue: '2' }]);
  });
});

describe('the key policy lockout safety check', () => {
  const root = 'arn:aws:iam::000000000000:root';
  const lockedOut = { name: 'MalformedPolicyDocumentException', message: 'The new key policy will not allow you to update the key policy in the future.' };
  const keyPolicy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
  /** The project's administration statement: the root user itself, not whoever IAM allows. */
  const rootUserOnly = { Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*', Condition: { ArnEquals: { 'aws:PrincipalArn': root } } };
  const encryptOnly = { Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:Encrypt', Resource: '*' };

  it('refuses CreateKey with a policy that would not let the caller call PutKeyPolicy, unless BypassPolicyLockoutSafetyCheck', async () => {
    await expect(kms.send(new CreateKeyCommand({ Policy: keyPolicy(encryptOnly) }))).rejects.toMatchObject(lockedOut);
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Policy: keyPolicy(encryptOnly), BypassPolicyLockoutSafetyCheck: true }));
    await expect(kms.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId, PolicyName: 'default', Policy: keyPolicy(rootUserOnly) })))
      .rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('lets the root user keep a key whose policy names the root user itself (aws:PrincipalArn)', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Policy: keyPolicy(rootUserOnly) }));
    await kms.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId, PolicyName: 'default', Policy: keyPolicy(rootUserOnly, encryptOnly) }));
    await expect(kms.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId, PolicyName: 'default', Policy: keyPolicy(encryptOnly) }))).rejects.toMatchObject(lockedOut);
  });

  it('judges a role by its identity policies together with the new key policy', async () => {
    const admin = local.clients(await roleWithPolicy(local.endpoint.url, 'key-admin', [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }]));
    const leaveItToIam = { Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' };
    const { KeyMetadata } = await admin.kms.send(new CreateKeyCommand({ Policy: keyPolicy(leaveItToIam) }));
    // The root user only: no longer the account's IAM policies, so not this role's.
    await expect(admin.kms.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId, PolicyName: 'default', Policy: keyPolicy(rootUserOnly) }))).rejects.toMatchObject(lockedOut);
    await expect(admin.kms.send(new CreateKeyCommand({ Policy: keyPolicy(rootUserOnly) }))).rejects.toMatchObject(lockedOut);
    const namingTheRole = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:role/key-admin' }, Action: 'kms:PutKeyPolicy', Resource: '*' };
    await admin.kms.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId, PolicyName: 'default', Policy: keyPolicy(rootUserOnly, namingTheRole) }));
  });
});

describe('a key whose policy does not name a principal', () => {
  const root = 'arn:aws:iam::000000000000:root';
  const rootUserOnly = JSON.stringify({ Version: '2012-10-17', Statement: [
    { Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*', Condition: { ArnEquals: { 'aws:PrincipalArn': root } } },
  ] });
  let protectedKey: string;
  let powerUser: KMSClient;

  beforeAll(async () => {
    protectedKey = (await kms.send(new CreateKeyCommand({ Policy: rootUserOnly }))).KeyMetadata!.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/protected', TargetKeyId: protectedKey }));
    powerUser = local.clients(await roleWithPolicy(local.endpoint.url, 'power-user', [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }])).kms;
  });

  it('keeps its alias from a role whose IAM policy allows kms:*: UpdateAlias needs the key policy of the key it leaves', async () => {
    const { arn: ownKey } = await newKey();
    await expect(powerUser.send(new UpdateAliasCommand({ AliasName: 'alias/protected', TargetKeyId: ownKey }))).rejects.toMatchObject({
      name: 'AccessDeniedException', message: expect.stringContaining(`kms:UpdateAlias on resource: ${protectedKey}`),
    });
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/protected' }));
    expect(KeyMetadata!.Arn).toBe(protectedKey);
  });

  it('keeps its key policy from that role: AccessDeniedException', async () => {
    const everyone = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' }] });
    await expect(powerUser.send(new PutKeyPolicyCommand({ KeyId: protectedKey, PolicyName: 'default', Policy: everyone }))).rejects.toMatchObject({
      name: 'AccessDeniedException', message: expect.stringContaining('because no resource-based policy allows the kms:PutKeyPolicy action'),
    });
  });
});

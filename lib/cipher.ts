/**
 * Encrypting and decrypting one secret, in the formats of lib/formats.ts, always with the encryption
 * context of its place (lib/naming.ts). Up to 4096 bytes: one KMS call, raw blob. Larger: the AWS
 * Encryption SDK.
 */
import { DecryptCommand, EncryptCommand, type KMS, ReEncryptCommand } from '@aws-sdk/client-kms';
import { EncryptionContextMismatchError, NotCiphertextError } from './errors.ts';
import { detectFormat, FORMAT_HEADERS, KMS_ENCRYPT_LIMIT, type CiphertextFormat } from './formats.ts';
import { encryptionContext, type SecretRef } from './naming.ts';

/**
 * The Encryption SDK, loaded on first use: most secrets are KMS blobs, and its modules add ~40 ms to the
 * start of every container otherwise.
 */
let encryptionSdk: Promise<typeof import('@aws-crypto/client-node')> | undefined;
async function loadEncryptionSdk() {
  encryptionSdk ??= import('@aws-crypto/client-node');
  const sdk = await encryptionSdk;
  return {
    sdk,
    client: sdk.buildClient(sdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT),
    // Key-committing, unsigned: a signature would only stop someone who can decrypt from forging.
    suite: sdk.AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
  };
}

export interface EncryptedSecret {
  readonly ciphertext: Buffer;
  readonly format: CiphertextFormat;
}

/** Encrypts `plaintext` for the secret at `ref` with `keyId` (key id, ARN or alias). */
export async function encryptSecret(kms: KMS, keyId: string, ref: SecretRef, plaintext: Uint8Array): Promise<EncryptedSecret> {
  const context = encryptionContext(ref);
  if (plaintext.byteLength <= KMS_ENCRYPT_LIMIT) {
    const result = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }));
    const ciphertext = Buffer.from(result.CiphertextBlob!);
    return { ciphertext, format: answeredFormat(ref, 'Encrypt', ciphertext) };
  }
  const { sdk, client, suite } = await loadEncryptionSdk();
  const keyring = new sdk.KmsKeyringNode({ generatorKeyId: keyId, clientProvider: () => kms });
  const { result } = await client.encrypt(keyring, plaintext, { encryptionContext: context, suiteId: suite });
  return { ciphertext: result, format: 'envelope' };
}

/**
 * Decrypts the ciphertext of the secret at `ref`; a ciphertext made for another place fails, and, given
 * `keyArn`, one made under any other key (KMS's IncorrectKeyException; for an envelope, no data key of that
 * key): whoever may put objects cannot bring a key of their own, which a role allowed kms:Decrypt on `*` would use.
 */
export async function decryptSecret(kms: KMS, ref: SecretRef, ciphertext: Uint8Array, { keyArn }: { keyArn?: string } = {}): Promise<Buffer> {
  const context = encryptionContext(ref);
  const format = requireFormat(ref, ciphertext);
  if (format !== 'envelope') {
    const result = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context, KeyId: keyArn }));
    return Buffer.from(result.Plaintext!);
  }
  // Without a key given, discovery: the message names its own key; KMS still checks the caller's right to use it.
  const { sdk, client } = await loadEncryptionSdk();
  const keyring = keyArn
    ? new sdk.KmsKeyringNode({ keyIds: [keyArn], clientProvider: () => kms })
    : new sdk.KmsKeyringNode({ discovery: true, clientProvider: () => kms });
  const materials = new sdk.NodeDefaultCryptographicMaterialsManager(keyring);
  // The Encryption SDK asks KMS with the message's own context and compares it to nothing: we compare it to
  // the place first, so a moved envelope is "another place", as a moved KMS blob is, before KMS is asked.
  // (The SDK's classes are frozen: the check is a property of an object built on the manager, not an assignment.)
  const atItsPlace = Object.create(materials, {
    decryptMaterials: {
      value(request: Parameters<typeof materials.decryptMaterials>[0]) {
        for (const [key, value] of Object.entries(context)) {
          if (request.encryptionContext[key] !== value) {
            throw new EncryptionContextMismatchError(`${describe(ref)}: the envelope was encrypted for another place (encryption context ${key} differs)`, {
              hint: 'a ciphertext cannot be moved between envs, services or names; encrypt the value again at its place',
            });
          }
        }
        // As KMS answers a blob of another key: named as KMS names it, so it is classified alike.
        if (keyArn && !request.encryptedDataKeys.some((dataKey) => dataKey.providerInfo === keyArn)) {
          throw Object.assign(new Error(`${describe(ref)}: the envelope's data key is not encrypted under the env's key ${keyArn}`), { name: 'IncorrectKeyException' });
        }
        return materials.decryptMaterials(request);
      },
    },
  }) as typeof materials;
  const { plaintext } = await client.decrypt(atItsPlace, ciphertext).catch((error: unknown) => {
    throw error instanceof EncryptionContextMismatchError || (error as Error)?.name === 'IncorrectKeyException' ? error : kmsErrorWithin(error);
  });
  return plaintext;
}

/**
 * The Encryption SDK reports a refused data key as "Unable to decrypt data key …" with KMS's own errors
 * inside its message: the first of them, by its name, so it is told apart as a KMS blob's error is.
 */
function kmsErrorWithin(error: unknown): unknown {
  const message = (error as Error)?.message ?? '';
  const inner = /\b(AccessDeniedException|InvalidCiphertextException|IncorrectKeyException|ThrottlingException|DisabledException|KMSInvalidStateException|NotFoundException)\b:? *([^\n]*)/.exec(message);
  if (!inner) return error;
  const kmsError = new Error(inner[2]!.trim() || inner[1], { cause: error });
  kmsError.name = inner[1]!;
  return kmsError;
}

/** Moves a KMS-format ciphertext to `toKeyId` with KMS ReEncrypt: the plaintext never leaves KMS. */
export async function reencryptBlob(kms: KMS, ref: SecretRef, ciphertext: Uint8Array, toKeyId: string): Promise<Buffer> {
  const context = encryptionContext(ref);
  const result = await kms.send(new ReEncryptCommand({
    CiphertextBlob: ciphertext,
    SourceEncryptionContext: context,
    DestinationKeyId: toKeyId,
    DestinationEncryptionContext: context,
  }));
  const reencrypted = Buffer.from(result.CiphertextBlob!);
  answeredFormat(ref, 'ReEncrypt', reencrypted);
  return reencrypted;
}

/**
 * What KMS answered must be a ciphertext that verify, the stack and the runtime will read: an emulator's
 * own format would be written, committed and deployed, and fail only at the container's start.
 */
function answeredFormat(ref: SecretRef, operation: string, ciphertext: Uint8Array): CiphertextFormat {
  const format = detectFormat(ciphertext);
  if (format) return format;
  const head = Buffer.from(ciphertext.subarray(0, 5)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  throw new NotCiphertextError(`KMS ${operation} answered ${describe(ref)} with a ciphertext of no known format (it starts ${head}); nothing was written`, {
    hint: `kms-secrets reads only ${FORMAT_HEADERS}: is AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_KMS an emulator of its own format?`,
  });
}

function requireFormat(ref: SecretRef, ciphertext: Uint8Array): CiphertextFormat {
  const format = detectFormat(ciphertext);
  if (!format) throw new NotCiphertextError(`${describe(ref)} is not ciphertext: it starts with none of the known headers, ${FORMAT_HEADERS}`);
  return format;
}

function describe(ref: SecretRef): string {
  return `secret ${ref.service}/${ref.name} (env ${ref.env})`;
}

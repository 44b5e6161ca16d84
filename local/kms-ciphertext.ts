/**
 * The local endpoint's ciphertext (lib/formats.ts): "LKMS", version, key-id length, key id, 12-byte IV,
 * AES-256-GCM ciphertext, 16-byte tag. The encryption context is the additional authenticated data, so
 * a ciphertext only opens with exactly the context it was sealed with, as with KMS.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { LOCAL_MAGIC, LOCAL_VERSION } from '../lib/formats.ts';

export type EncryptionContext = Readonly<Record<string, string>>;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = LOCAL_MAGIC.length + 2;

/** A canonical encoding of the context: key order does not change what was authenticated. */
function contextAad(context: EncryptionContext): Buffer {
  const entries = Object.keys(context).sort().map((key) => [key, context[key]]);
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

export function seal(keyId: string, material: Buffer, plaintext: Buffer, context: EncryptionContext): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(contextAad(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const id = Buffer.from(keyId, 'ascii');
  return Buffer.concat([LOCAL_MAGIC, Buffer.of(LOCAL_VERSION, id.length), id, iv, body, cipher.getAuthTag()]);
}

export interface SealedBlob {
  readonly keyId: string;
  readonly iv: Buffer;
  readonly body: Buffer;
  readonly tag: Buffer;
}

/** The parts of a blob, or undefined when it is not the local format. */
export function parseBlob(blob: Buffer): SealedBlob | undefined {
  if (blob.length < HEADER_BYTES || !blob.subarray(0, LOCAL_MAGIC.length).equals(LOCAL_MAGIC)) return undefined;
  if (blob[LOCAL_MAGIC.length] !== LOCAL_VERSION) return undefined;
  const idLength = blob[LOCAL_MAGIC.length + 1]!;
  const ivStart = HEADER_BYTES + idLength;
  if (blob.length < ivStart + IV_BYTES + TAG_BYTES) return undefined;
  return {
    keyId: blob.subarray(HEADER_BYTES, ivStart).toString('ascii'),
    iv: blob.subarray(ivStart, ivStart + IV_BYTES),
    body: blob.subarray(ivStart + IV_BYTES, blob.length - TAG_BYTES),
    tag: blob.subarray(blob.length - TAG_BYTES),
  };
}

/**
 * Opens a blob with the first of the key's material versions that authenticates it (newest first), so
 * ciphertext from before a rotation still decrypts. Undefined when none does: wrong context or tampering.
 */
export function open(sealed: SealedBlob, materials: readonly Buffer[], context: EncryptionContext): Buffer | undefined {
  const aad = contextAad(context);
  for (const material of [...materials].reverse()) {
    const decipher = createDecipheriv('aes-256-gcm', material, sealed.iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.tag);
    try {
      return Buffer.concat([decipher.update(sealed.body), decipher.final()]);
    } catch {
      // the tag did not match this material version: try the older one
    }
  }
  return undefined;
}

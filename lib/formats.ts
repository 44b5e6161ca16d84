/**
 * Ciphertext formats that may live under secrets/, told apart by their first bytes.
 * Nothing here decrypts: the stack, `verify` and `list` only need to know what a file is.
 */

export type CiphertextFormat = 'kms' | 'envelope' | 'local';

/** At most this many plaintext bytes go through KMS Encrypt; larger secrets use the envelope format. */
export const KMS_ENCRYPT_LIMIT = 4096;

/**
 * The embedded local endpoint's own ciphertext: "LKMS", a version byte, the key id, then AES-256-GCM.
 * It can never be mistaken for a real KMS blob (01 0x 02 00 78) or an Encryption SDK message (01 80 / 02).
 */
export const LOCAL_MAGIC = Buffer.from('LKMS', 'ascii');
export const LOCAL_VERSION = 1;

const KMS_BLOB_PREFIXES = [Buffer.from([0x01, 0x02, 0x02, 0x00, 0x78]), Buffer.from([0x01, 0x01, 0x02, 0x00, 0x78])];
const ESDK_V1_PREFIX = Buffer.from([0x01, 0x80]);
/** Algorithm suites an Encryption SDK v2 message may name right after its version byte 0x02. */
const ESDK_V2_SUITES = [0x0478, 0x0578];

/** The format of a ciphertext, or undefined when the bytes are none of the known formats. */
export function detectFormat(bytes: Uint8Array): CiphertextFormat | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (KMS_BLOB_PREFIXES.some((prefix) => startsWith(buf, prefix))) return 'kms';
  if (startsWith(buf, ESDK_V1_PREFIX)) return 'envelope';
  if (buf.length >= 3 && buf[0] === 0x02 && ESDK_V2_SUITES.includes(buf.readUInt16BE(1))) return 'envelope';
  if (buf.length > LOCAL_MAGIC.length + 1 && startsWith(buf, LOCAL_MAGIC) && buf[LOCAL_MAGIC.length] === LOCAL_VERSION) {
    return 'local';
  }
  return undefined;
}

/** The format whose header a file starts with, for messages: what each one looks like. */
export const FORMAT_HEADERS =
  'a KMS ciphertext blob (01 02 02 00 78…), an AWS Encryption SDK message (02 04 78…, as encrypt writes it; ' +
  'also 02 05 78… or 01 80…), or the local endpoint\'s ciphertext ("LKMS"…)';

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  return buf.length > prefix.length && buf.subarray(0, prefix.length).equals(prefix);
}

/**
 * Where a secret's value comes from: byte-exact from a file, a hidden prompt asked twice on a terminal,
 * or piped standard input — never from an argument, which would land in shell history and `ps`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { KmsSecretsError } from '../lib/errors.ts';
import { readHiddenLines } from './prompt.ts';

export interface ValueSource {
  /** Read the value byte-exact from this file (certificates, binary). */
  readonly fromFile?: string;
  /** Keep the one trailing newline of piped input (dropped by default: `echo` adds it). */
  readonly keepNewline: boolean;
  /** Names the secret in the prompt, e.g. "staging/api/db-password". */
  readonly label: string;
}

/**
 * The largest value accepted: certificates and keystores fit many times over, and an endless input
 * (`--from-file /dev/zero`, a stuck pipe's producer) ends with a clear error instead of exhausting memory.
 */
export const MAX_SECRET_BYTES = 4 * 1024 * 1024;

/** The value to encrypt; the caller zeroes it when done. Empty values are refused. */
export async function readSecretValue(source: ValueSource): Promise<Buffer> {
  const value = source.fromFile !== undefined
    ? readValueFile(source.fromFile)
    : process.stdin.isTTY
      ? await promptTwice(source.label)
      : dropTrailingNewline(await readStdin(), source.keepNewline);
  if (value.length === 0) {
    throw new KmsSecretsError('empty value refused: a secret needs at least one byte; nothing was written', {
      hint: 'pipe the value in (printf %s "$VALUE" | …), use --from-file PATH, or run in a terminal to be prompted',
    });
  }
  return value;
}

function readValueFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KmsSecretsError(`cannot read --from-file ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      total += read;
      if (total > MAX_SECRET_BYTES) throw tooLarge(`--from-file ${path}`);
    }
  } catch (error) {
    for (const chunk of chunks) chunk.fill(0);
    if (error instanceof KmsSecretsError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new KmsSecretsError(`cannot read --from-file ${path}: ${code === 'EISDIR' ? 'a directory' : (error as Error).message}`);
  } finally {
    closeSync(fd);
  }
  return joined(chunks);
}

function tooLarge(what: string): KmsSecretsError {
  return new KmsSecretsError(`${what} is larger than ${MAX_SECRET_BYTES / 2 ** 20} MiB, more than any secret; nothing was written`, {
    hint: 'a secret is a password, a key or a certificate: is this the file you meant?',
  });
}

/** The chunks as one buffer; the chunks are zeroed. */
function joined(chunks: Buffer[]): Buffer {
  const value = Buffer.concat(chunks);
  for (const chunk of chunks) chunk.fill(0);
  return value;
}

async function promptTwice(label: string): Promise<Buffer> {
  const [first, second] = (await readHiddenLines([`value for ${label} (hidden): `, 'again, to confirm: '])) as [Buffer, Buffer];
  const same = first.equals(second);
  second.fill(0);
  if (!same) {
    first.fill(0);
    throw new KmsSecretsError('the two entries differ; nothing was written', { hint: 'run the command again and type the same value twice' });
  }
  return first;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    total += (chunk as Buffer).length;
    if (total > MAX_SECRET_BYTES) {
      for (const piece of chunks) piece.fill(0);
      process.stdin.destroy();
      throw tooLarge('the piped value');
    }
  }
  return joined(chunks);
}

/** Without keepNewline, one trailing "\n" or "\r\n" (what `echo` or a Windows editor adds) is not part of the value. */
function dropTrailingNewline(value: Buffer, keepNewline: boolean): Buffer {
  if (keepNewline || value.at(-1) !== 0x0a) return value;
  const end = value.at(-2) === 0x0d ? value.length - 2 : value.length - 1;
  const trimmed = Buffer.alloc(end);
  value.copy(trimmed, 0, 0, end);
  value.fill(0);
  return trimmed;
}

/**
 * Where a secret's value comes from: byte-exact from a file, a hidden prompt asked twice on a terminal,
 * or piped standard input — never from an argument, which would land in shell history and `ps`.
 */
import { readFileSync } from 'node:fs';
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
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KmsSecretsError(`cannot read --from-file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (error as Error).message}`);
  }
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
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const value = Buffer.concat(chunks);
  for (const chunk of chunks) chunk.fill(0);
  return value;
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

/**
 * `kms-secrets decrypt`: checks that a secret decrypts at its place. On a terminal it shows the length and
 * a SHA-256 fingerprint only; the value goes to stdout with --reveal or when stdout is a pipe or file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptSecret } from '../../lib/cipher.ts';
import { KmsSecretsError } from '../../lib/errors.ts';
import { parseSecretPath } from '../../lib/naming.ts';
import { loadSettings } from '../../lib/settings.ts';
import { SECRETS_DIR } from '../../lib/tree.ts';
import { kmsFailure } from '../kms-failure.ts';
import { AWS_OPTIONS, chooseEnv, clientsForEnv, ENV_OPTION, parseCommandArgs } from '../options.ts';
import type { Command } from './index.ts';

const USAGE = `usage: kms-secrets decrypt [--env E] <service>/<secret> [--reveal] [--profile P] [--region R]

Decrypts secrets/<env>/<service>/<secret> in memory and prints its length and SHA-256 fingerprint
(compare with: printf %s "$VALUE" | sha256sum). The value itself is written to stdout, raw and alone,
only with --reveal or when stdout is not a terminal (a pipe or a file); the summary then goes to stderr.
`;

export const decrypt: Command = {
  summary: 'check that a secret decrypts: length and SHA-256 fingerprint; the value only with --reveal or into a pipe',
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args: [...args],
      allowPositionals: true,
      options: { ...ENV_OPTION, ...AWS_OPTIONS, reveal: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new KmsSecretsError('decrypt takes exactly one <service>/<secret>', { hint: USAGE.split('\n')[0] });
    const projectRoot = process.cwd();
    const settings = loadSettings(projectRoot);
    const { env } = chooseEnv(projectRoot, settings, values.env);
    const ref = parseSecretPath(env, positionals[0]!);
    const file = `${SECRETS_DIR}/${env}/${ref.service}/${ref.name}`;
    const ciphertext = readCiphertext(projectRoot, file, env);
    const { kms, region } = await clientsForEnv(values, settings.forEnv(env));
    let plaintext: Buffer;
    try {
      plaintext = await decryptSecret(kms, ref, ciphertext);
    } catch (error) {
      throw kmsFailure(error, { command: 'decrypt', permission: 'kms:Decrypt', key: 'the key that encrypted it', env, region, subject: file });
    }
    try {
      const summary = `env ${env}: ${file} decrypts: ${plaintext.length} bytes, sha256 ${createHash('sha256').update(plaintext).digest('hex')}\n`;
      const showValue = Boolean(values.reveal) || !process.stdout.isTTY;
      if (!showValue) {
        process.stdout.write(summary);
        return 0;
      }
      process.stderr.write(summary);
      await writeAll(process.stdout, plaintext);
      // Only for a person's terminal, so the prompt does not start on the value's line; pipes get exact bytes.
      if (process.stdout.isTTY && plaintext.at(-1) !== 0x0a) process.stdout.write('\n');
      return 0;
    } finally {
      plaintext.fill(0);
    }
  },
};

function readCiphertext(projectRoot: string, file: string, env: string): Buffer {
  try {
    return readFileSync(join(projectRoot, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new KmsSecretsError(`no such secret: ${file} does not exist`, { hint: `see the env's secrets with: npm run list -- --env ${env}` });
  }
}

/** Resolves once the bytes are handed to the OS, so they can be zeroed afterwards. */
function writeAll(stream: NodeJS.WriteStream, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => stream.write(bytes, (error) => (error ? reject(error) : resolve())));
}

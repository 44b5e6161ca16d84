/**
 * `kms-secrets decrypt`: checks that a secret decrypts at its place, showing its length and a SHA-256
 * fingerprint. The value comes out only when asked for, whatever stdout is (a CI log is not a terminal
 * either): to stdout with --reveal, or into a file with --output.
 */
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.ts';
import { decryptSecret } from '../../lib/cipher.ts';
import { KmsSecretsError } from '../../lib/errors.ts';
import { parseSecretPath } from '../../lib/naming.ts';
import { findProjectRoot } from '../../lib/project-root.ts';
import { loadSettings } from '../../lib/settings.ts';
import { SECRETS_DIR } from '../../lib/tree.ts';
import { kmsFailure } from '../kms-failure.ts';
import { AWS_OPTIONS, chooseEnv, clientsForEnv, ENV_OPTION, parseCommandArgs } from '../options.ts';
import type { Command } from './index.ts';

const USAGE = `usage: kms-secrets decrypt [--env E] <service>/<secret> [--reveal | --output FILE] [--profile P] [--region R]

Decrypts secrets/<env>/<service>/<secret> in memory and prints its length and SHA-256 fingerprint
(compare with: printf %s "$VALUE" | sha256sum). The value itself comes out only when asked for:
  --reveal        on stdout, raw and alone (the summary goes to stderr); with npm, use npm run -s
  --output FILE   into FILE, mode 0600, written whole or not at all (never into secrets/)
`;

export const decrypt: Command = {
  summary: 'check that a secret decrypts: length and SHA-256 fingerprint; the value only with --reveal or --output',
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args: [...args],
      allowPositionals: true,
      options: { ...ENV_OPTION, ...AWS_OPTIONS, reveal: { type: 'boolean' }, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
    }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new KmsSecretsError('decrypt takes exactly one <service>/<secret>', { hint: USAGE.split('\n')[0] });
    if (values.reveal && values.output !== undefined) throw new KmsSecretsError('decrypt takes --reveal or --output, not both', { hint: USAGE.split('\n')[0] });
    const projectRoot = findProjectRoot();
    const output = values.output === undefined ? undefined : outputFile(projectRoot, values.output);
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
      const summary = `env ${env}: ${file} decrypts: ${plaintext.length} bytes, sha256 ${createHash('sha256').update(plaintext).digest('hex')}`;
      if (output) {
        await writeFileAtomic(output, plaintext, { mode: 0o600 }).catch((error: NodeJS.ErrnoException) => {
          // fs messages name the path and the errno, never the content.
          throw new KmsSecretsError(`cannot write --output ${values.output}: ${error.code ?? error.message}; nothing was written`);
        });
        process.stdout.write(`${summary}; the value is in ${values.output} (mode 0600)\n`);
        return 0;
      }
      if (!values.reveal) {
        process.stdout.write(`${summary}\n`);
        return 0;
      }
      process.stderr.write(`${summary}\n`);
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
  let stats;
  try {
    stats = statSync(join(projectRoot, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new KmsSecretsError(`no such secret: ${file} does not exist`, { hint: `see the env's secrets with: npm run list -- --env ${env}` });
  }
  // A directory fails to read; a FIFO or a device would block or never end.
  if (!stats.isFile()) {
    throw new KmsSecretsError(`${file} is not a secret: it is a ${stats.isDirectory() ? 'directory' : 'special file'}, and a secret is a file of ciphertext`, {
      hint: `see the env's secrets with: npm run list -- --env ${env}`,
    });
  }
  return readFileSync(join(projectRoot, file));
}

/**
 * Where --output writes: anywhere but the secrets tree, which holds ciphertext only — also not through a
 * symbolic link to a folder of it (the folder's real path is what counts).
 */
function outputFile(projectRoot: string, path: string): string {
  const file = resolve(path);
  const tree = realPath(join(projectRoot, SECRETS_DIR));
  const inTree = relative(tree, join(realPath(dirname(file)), basename(file)));
  if (!inTree.startsWith('..') && !isAbsolute(inTree)) {
    throw new KmsSecretsError(`--output ${path} is inside ${SECRETS_DIR}/, which holds ciphertext only: plaintext there could be committed`, {
      hint: 'write it outside the repository, e.g. --output /dev/shm/value',
    });
  }
  return file;
}

/** The path with every symbolic link resolved, as far as it exists. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return dirname(path) === path ? path : join(realPath(dirname(path)), basename(path));
  }
}

/** Resolves once the bytes are handed to the OS, so they can be zeroed afterwards. */
function writeAll(stream: NodeJS.WriteStream, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => stream.write(bytes, (error) => (error ? reject(error) : resolve())));
}

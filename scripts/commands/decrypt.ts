/**
 * `kms-secrets decrypt`: checks that a secret decrypts at its place, showing its length and a SHA-256
 * fingerprint. The value comes out only when asked for, whatever stdout is (a CI log is not a terminal
 * either): to stdout with --reveal, or into a file with --output.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArguments } from '../../lib/arguments.ts';
import { writeFileAtomic } from '../../lib/atomic-file.ts';
import { decryptSecret } from '../../lib/cipher.ts';
import { KmsSecretsError, UsageError } from '../../lib/errors.ts';
import { parseSecretPath } from '../../lib/naming.ts';
import { findProjectRoot } from '../../lib/project-root.ts';
import { loadSettings } from '../../lib/settings.ts';
import { SECRETS_DIR } from '../../lib/tree.ts';
import { kmsFailure } from '../kms-failure.ts';
import { AWS_OPTIONS, chooseEnv, clientsForEnv, ENV_OPTION } from '../options.ts';
import type { Command } from './index.ts';

const USAGE = `usage: kms-secrets decrypt [--env E] <service>/<secret> [--reveal | --output FILE [--force]] [--profile P] [--region R]

Decrypts secrets/<env>/<service>/<secret> in memory and prints its length and SHA-256 fingerprint
(compare with: printf %s "$VALUE" | sha256sum). The value itself comes out only when asked for:
  --reveal        on stdout, raw and alone (the summary goes to stderr); with npm, use npm run -s
  --output FILE   into FILE, a new file in an existing folder, mode 0600, written whole or not at all;
                  never into secrets/, and never through a symbolic link, a FIFO or a device
  --force         with --output: replace FILE when it is a regular file already
`;

export const decrypt: Command = {
  summary: 'check that a secret decrypts: length and SHA-256 fingerprint; the value only with --reveal or --output',
  async run(args) {
    const { values, positionals } = parseArguments({
      args: [...args],
      allowPositionals: true,
      options: {
        ...ENV_OPTION, ...AWS_OPTIONS, reveal: { type: 'boolean' }, output: { type: 'string', short: 'o' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('decrypt takes exactly one <service>/<secret>', { hint: USAGE.split('\n')[0] });
    if (values.reveal && values.output !== undefined) throw new UsageError('decrypt takes --reveal or --output, not both', { hint: USAGE.split('\n')[0] });
    if (values.force && values.output === undefined) throw new UsageError('--force goes with --output FILE: it lets decrypt replace that file', { hint: USAGE.split('\n')[0] });
    const projectRoot = findProjectRoot();
    const output = values.output === undefined ? undefined : outputFile(projectRoot, values.output, Boolean(values.force));
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
        // Without --force the last step fails rather than replace whatever appeared there since the check.
        await writeFileAtomic(output, plaintext, { mode: 0o600, exclusive: !values.force, createDirectory: false }).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') throw outputExists(values.output!);
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
  const hint = `see the env's secrets with: npm run list -- --env ${env}`;
  // Each step on the way must be the repository's own: through a link, the ciphertext of another place would
  // be read, and fail as "made for another env/service/secret".
  const parts = file.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const path = parts.slice(0, i).join('/');
    const stats = lstatSync(join(projectRoot, path), { throwIfNoEntry: false });
    if (!stats) throw new KmsSecretsError(`no such secret: ${file} does not exist`, { hint });
    if (stats.isSymbolicLink()) {
      throw new KmsSecretsError(`${path} is a symbolic link${path === file ? ', not a secret' : ''}: the secrets tree holds only real directories and files of ciphertext, each at its own place`, {
        hint: `replace the link with the ${path === file ? 'ciphertext file' : 'directory'} itself (encrypt the value at ${file}); npm run verify lists every link`,
      });
    }
    // A directory fails to read; a FIFO or a device would block or never end.
    if (i === parts.length && !stats.isFile()) {
      throw new KmsSecretsError(`${file} is not a secret: it is a ${stats.isDirectory() ? 'directory' : 'special file'}, and a secret is a file of ciphertext`, { hint });
    }
  }
  return readFileSync(join(projectRoot, file));
}

/**
 * Where --output writes, checked before anything is decrypted: a new file in a folder that exists, or with
 * --force a regular file — never a link, FIFO, device or directory (as root, `--output /dev/stdout` would
 * otherwise replace the /dev/stdout link with a file holding the value), and never inside the secrets tree,
 * which holds ciphertext only, however the path is spelled (`secrets/..x`, `x/../secrets/y`, a link to it).
 */
function outputFile(projectRoot: string, path: string, force: boolean): string {
  // The folder as the kernel finds it (realpath(3): realpathSync without .native normalizes ".." first): "link/../x"
  // goes up from where the link points, not back to where it is.
  const given = isAbsolute(path) ? path : `${process.cwd()}${sep}${path}`;
  if (given.endsWith(sep) || ['.', '..'].includes(basename(given))) {
    throw new KmsSecretsError(`--output ${path} names a folder; nothing was written`, { hint: 'name a file, e.g. --output /dev/shm/value' });
  }
  let folder: string;
  try {
    folder = realpathSync.native(dirname(given));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new KmsSecretsError(`--output ${path}: the folder ${resolve(dirname(given))} does not exist; nothing was written`, {
        hint: 'decrypt creates no folders: create it first, or name a file in a folder that exists',
      });
    }
    throw new KmsSecretsError(`--output ${path}: ${code === 'ENOTDIR' ? `${resolve(dirname(given))} is not a folder` : `cannot reach its folder (${code})`}; nothing was written`);
  }
  const file = join(folder, basename(given));
  const inTree = relative(realPath(join(projectRoot, SECRETS_DIR)), file);
  if (inTree === '' || (inTree.split(sep)[0] !== '..' && !isAbsolute(inTree))) {
    throw new KmsSecretsError(`--output ${path} is inside ${SECRETS_DIR}/, which holds ciphertext only: plaintext there could be committed`, {
      hint: 'write it outside the repository, e.g. --output /dev/shm/value',
    });
  }
  const existing = lstatSync(file, { throwIfNoEntry: false });
  if (existing?.isFile()) {
    if (!force) throw outputExists(path);
  } else if (existing) {
    throw new KmsSecretsError(`--output ${path} is ${kindOf(existing)}: decrypt writes only a new file, or with --force replaces a regular file; nothing was written`, {
      hint: existing.isDirectory() ? 'name a file, not a folder' : 'for the value on standard output, use --reveal; else name a new file',
    });
  }
  return file;
}

function outputExists(path: string): KmsSecretsError {
  return new KmsSecretsError(`--output ${path} exists already; nothing was written`, { hint: 'to replace it, add --force' });
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
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

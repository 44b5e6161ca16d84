/**
 * `kms-secrets reencrypt`: moves every ciphertext of an env to the env's current key (or --to-key), e.g.
 * after the alias was pointed at a new key. KMS blobs go through KMS ReEncrypt, so their plaintext never
 * leaves KMS. Envelopes are decrypted and encrypted again in memory under a fresh data key: re-wrapping
 * only their data key would keep the message id, so the header would be authenticated twice with the same
 * AES-GCM key and fixed IV (format v2) — a nonce reuse that lets whoever sees both versions forge frames.
 */
import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import type { KMS } from '@aws-sdk/client-kms';
import { parseArguments } from '../../lib/arguments.ts';
import { writeFileAtomic } from '../../lib/atomic-file.ts';
import { decryptSecret, encryptSecret, reencryptBlob } from '../../lib/cipher.ts';
import { KmsSecretsError, UsageError } from '../../lib/errors.ts';
import { findProjectRoot } from '../../lib/project-root.ts';
import { loadSettings } from '../../lib/settings.ts';
import type { SecretFile } from '../../lib/tree.ts';
import { kmsFailure } from '../kms-failure.ts';
import { AWS_OPTIONS, chooseEnv, clientsForEnv, ENV_OPTION, secretsInScope } from '../options.ts';
import type { Command } from './index.ts';

const USAGE = `usage: kms-secrets reencrypt --env E [--to-key K] [--profile P] [--region R]

Re-encrypts every secret of env E under the env's key alias from the settings, or under --to-key
(alias, id or ARN). KMS blobs use KMS ReEncrypt (needs kms:ReEncryptFrom on the current key and
kms:ReEncryptTo on the target); envelopes are decrypted and encrypted again in memory (kms:Decrypt and
kms:GenerateDataKey). Each file is replaced atomically; an interrupted run can simply be run again.
`;

/** Parallel KMS calls: fast over many files, far below any account's KMS request quota. */
const CONCURRENCY = 8;
const PROGRESS_INTERVAL_MS = 100;

export const reencrypt: Command = {
  summary: 'move every ciphertext of an env to its current key (or --to-key) with KMS ReEncrypt',
  async run(args) {
    const { values } = parseArguments({
      args: [...args],
      options: { ...ENV_OPTION, 'to-key': { type: 'string' }, ...AWS_OPTIONS, help: { type: 'boolean', short: 'h' } },
    }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.env === undefined) {
      throw new UsageError('reencrypt needs --env: it rewrites every secret of one env, so the env is never implied', { hint: USAGE.split('\n')[0] });
    }
    const projectRoot = findProjectRoot();
    const settings = loadSettings(projectRoot);
    const { env } = chooseEnv(projectRoot, settings, values.env);
    const envSettings = settings.forEnv(env);
    const toKey = values['to-key'] ?? envSettings.keyAlias;
    const files = await secretsInScope(projectRoot, settings, env);
    if (files.length === 0) {
      process.stdout.write(`env ${env}: no secrets to re-encrypt\n`);
      return 0;
    }
    const { kms, region } = await clientsForEnv(values, envSettings);
    const started = performance.now();
    const progress = new Progress(`re-encrypting env ${env} under ${toKey}`, files.length);
    let envelopes = 0;
    try {
      await forEachBounded(files, CONCURRENCY, async (file) => {
        const subject = relative(projectRoot, file.path).split(sep).join('/');
        try {
          await reencryptFile(kms, file, toKey);
        } catch (error) {
          throw kmsFailure(error, { command: 'reencrypt', permission: permissionFor(file), key: toKey, keyOption: '--to-key', env, region, subject });
        }
        if (file.format === 'envelope') envelopes += 1;
        progress.advance();
      });
    } catch (error) {
      progress.clear();
      const failure = error as KmsSecretsError;
      throw new KmsSecretsError(`${failure.message} (stopped after ${progress.done} of ${files.length} secrets)`, {
        hint: `${failure.hint ? `${failure.hint}; then ` : ''}run reencrypt --env ${env} again: each file is whole, old or new, and redoing one is harmless`,
      });
    }
    progress.clear();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `env ${env}: re-encrypted ${files.length} secret${files.length === 1 ? '' : 's'} under ${toKey} in ${seconds} s ` +
      `(${files.length - envelopes} with KMS ReEncrypt, ${envelopes} envelope${envelopes === 1 ? '' : 's'} decrypted and encrypted again in memory)\n`,
    );
    return 0;
  },
};

async function reencryptFile(kms: KMS, file: SecretFile, toKey: string): Promise<void> {
  const ciphertext = await readFile(file.path);
  if (file.format !== 'envelope') {
    await writeFileAtomic(file.path, await reencryptBlob(kms, file, ciphertext, toKey));
    return;
  }
  const plaintext = await decryptSecret(kms, file, ciphertext);
  try {
    const { ciphertext: envelope } = await encryptSecret(kms, toKey, file, plaintext);
    await writeFileAtomic(file.path, envelope);
  } finally {
    plaintext.fill(0);
  }
}

function permissionFor(file: SecretFile): string {
  return file.format === 'envelope'
    ? 'kms:Decrypt (on its current key) and kms:GenerateDataKey'
    : 'kms:ReEncryptFrom (on its current key) and kms:ReEncryptTo';
}

/** Runs `work` over `items`, at most `limit` at a time; after the first failure no new item starts. */
async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (failures.length === 0 && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/** A counter redrawn in place on a terminal (stderr), silent in pipes and logs. */
class Progress {
  done = 0;
  private lastDrawn = 0;
  private readonly enabled = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string, private readonly total: number) {}

  advance(): void {
    this.done += 1;
    const now = performance.now();
    if (!this.enabled || (now - this.lastDrawn < PROGRESS_INTERVAL_MS && this.done < this.total)) return;
    this.lastDrawn = now;
    process.stderr.write(`\r${this.label}: ${this.done}/${this.total}`);
  }

  clear(): void {
    if (this.enabled && this.lastDrawn > 0) process.stderr.write('\r\x1b[2K');
  }
}

/** `kms-secrets encrypt`: adds or (with --force) replaces one secret; the value never touches a disk. */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArguments } from '../../lib/arguments.ts';
import { writeFileAtomic } from '../../lib/atomic-file.ts';
import { configuredEndpoint, isLoopbackUrl } from '../../lib/aws.ts';
import { encryptSecret } from '../../lib/cipher.ts';
import { KmsSecretsError, NamingError, UsageError } from '../../lib/errors.ts';
import { KMS_ENCRYPT_LIMIT } from '../../lib/formats.ts';
import { loaderVariableProblem } from '../../lib/loader-variables.ts';
import { envVarName, parseSecretPath, secretNameProblem } from '../../lib/naming.ts';
import { findProjectRoot } from '../../lib/project-root.ts';
import { loadSettings } from '../../lib/settings.ts';
import { collisionRule, SECRETS_DIR } from '../../lib/tree.ts';
import { kmsFailure } from '../kms-failure.ts';
import { AWS_OPTIONS, chooseEnv, clientsForEnv, ENV_OPTION } from '../options.ts';
import { readSecretValue } from '../secret-input.ts';
import type { Command } from './index.ts';

const USAGE = `usage: kms-secrets encrypt [--env E] <service>/<secret> [--from-file PATH] [--force] [--keep-newline]
                          [--key K] [--profile P] [--region R]

Encrypts one secret with the env's KMS key and writes secrets/<env>/<service>/<secret> (ciphertext only).
The value comes from a hidden prompt asked twice on a terminal, from piped standard input (one trailing
newline removed unless --keep-newline), or byte-exact from --from-file. Never from an argument.

  -e, --env E        the env (default: SECRETS_ENV, else the settings' defaultEnv); a new env must be named here
      --from-file P  read the value from a file, byte for byte (certificates, binary)
      --force        replace an existing secret (that is rotating its value)
      --keep-newline keep the trailing newline of piped input
      --key K        the KMS key (alias, id or ARN; default: the env's alias from the settings)
      --profile P    an AWS profile; --region R a region (default: AWS_REGION, the profile's, the settings')
`;

export const encrypt: Command = {
  summary: 'encrypt a value from a prompt, a pipe or a file into secrets/<env>/<service>/<secret>',
  async run(args) {
    const { values, positionals } = parseArguments({
      args: [...args],
      allowPositionals: true,
      options: {
        ...ENV_OPTION,
        ...AWS_OPTIONS,
        'from-file': { type: 'string' },
        force: { type: 'boolean' },
        'keep-newline': { type: 'boolean' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) {
      throw new UsageError('encrypt takes exactly one <service>/<secret>; the value is never an argument', { hint: USAGE.split('\n')[0] });
    }
    const projectRoot = findProjectRoot();
    const settings = loadSettings(projectRoot);
    const { env, isNew } = chooseEnv(projectRoot, settings, values.env, true);
    const ref = parseSecretPath(env, positionals[0]!);
    const file = `${SECRETS_DIR}/${env}/${ref.service}/${ref.name}`;
    const envSettings = settings.forEnv(env);
    // Refused before the value is asked for, so nobody types a secret only to be told no.
    const loaderProblem = loaderVariableProblem(envVarName(ref.name), envSettings.allowLoaderVariables);
    if (loaderProblem) throw new NamingError(`${file}: ${loaderProblem}`);
    refuseSymbolicLinks(projectRoot, [SECRETS_DIR, env, ref.service]);
    const twin = sameVariable(join(projectRoot, SECRETS_DIR, env, ref.service), ref.name);
    if (twin) throw new NamingError(`${file}: ${collisionRule(envVarName(ref.name), twin)}`);
    const existing = lstatSync(join(projectRoot, file), { throwIfNoEntry: false });
    const replacing = existing !== undefined;
    if (existing && !existing.isFile()) {
      const kind = existing.isDirectory() ? 'directory' : existing.isSymbolicLink() ? 'symbolic link' : 'special file';
      throw new KmsSecretsError(`${file} is a ${kind}, not a secret; nothing was written`, {
        hint: `a secret is a file directly in its service's directory: ${SECRETS_DIR}/${env}/<service>/<secret>`,
      });
    }
    if (replacing && !values.force) throw alreadyExists(file, positionals[0]!, env);

    // An endpoint on this machine (the local one, another emulator) makes ciphertext that AWS cannot open.
    const endpoint = configuredEndpoint('KMS');
    if (!envSettings.local && endpoint && isLoopbackUrl(endpoint.url)) {
      throw new KmsSecretsError(`${file}: env "${env}" is not marked "local": true, but KMS is ${endpoint.url} (${endpoint.variable}), an endpoint on this machine `
        + 'whose ciphertext would not decrypt in AWS; nothing was asked or written', { hint: NOT_LOCAL_HINT });
    }
    const key = values.key ?? envSettings.keyAlias;
    const { kms, region } = await clientsForEnv(values, envSettings);
    const failure = (error: unknown, permission: string) =>
      kmsFailure(error, { command: 'encrypt', permission, key, keyOption: '--key', env, newEnv: isNew !== false, region, subject: file });
    // Missing credentials are reported before anyone types a value.
    await kms.config.credentials().catch((error: unknown) => { throw failure(error, 'kms:Encrypt'); });
    const plaintext = await readSecretValue({ fromFile: values['from-file'], keepNewline: Boolean(values['keep-newline']), label: `${env}/${ref.service}/${ref.name}` });
    const permission = plaintext.length > KMS_ENCRYPT_LIMIT ? 'kms:GenerateDataKey' : 'kms:Encrypt';
    const encrypted = await encryptSecret(kms, key, ref, plaintext)
      .catch((error: unknown) => { throw failure(error, permission); })
      .finally(() => plaintext.fill(0));
    if (encrypted.format === 'local' && !envSettings.local) {
      throw new KmsSecretsError(`${file}: the endpoint answered with local-endpoint ciphertext, but env "${env}" is not marked "local": true; nothing was written`, {
        hint: NOT_LOCAL_HINT,
      });
    }
    try {
      await writeFileAtomic(join(projectRoot, file), encrypted.ciphertext, { exclusive: !values.force });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(file, positionals[0]!, env);
      throw error;
    }
    const what = encrypted.format === 'envelope' ? 'envelope (Encryption SDK)' : `${encrypted.format} blob`;
    process.stdout.write(
      `env ${env}${isNew === 'first' ? ' (new: the first env, the settings\' defaultEnv)' : isNew ? ' (new)' : ''}: ${replacing ? 'replaced' : 'wrote'} ${file} — ${what}, ${encrypted.ciphertext.length} bytes of ciphertext, key ${key}\n`,
    );
    return 0;
  },
};

const NOT_LOCAL_HINT = 'unset AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS to use AWS, or mark the env local in kms-secrets.json';

/** Each directory on the way to the file must be the repository's own: a link would take the ciphertext elsewhere. */
function refuseSymbolicLinks(projectRoot: string, parts: readonly string[]): void {
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (lstatSync(join(projectRoot, dir), { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new KmsSecretsError(`${dir} is a symbolic link: the ciphertext would be written wherever it points; nothing was written`, {
        hint: 'the secrets tree holds only real directories and files: replace the link with a directory',
      });
    }
  }
}

/** Another secret of the service that maps to the same variable: the tree's collision rule, for one new file. */
function sameVariable(serviceDir: string, name: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(serviceDir);
  } catch {
    return undefined; // a new service
  }
  const variable = envVarName(name);
  return names.find((other) => other !== name && !secretNameProblem(other) && envVarName(other) === variable);
}

function alreadyExists(file: string, path: string, env: string): KmsSecretsError {
  return new KmsSecretsError(`${file} already exists; replacing a secret's value is rotating it`, {
    hint: `to rotate it, run: npm run encrypt -- --env ${env} ${path} --force (then deploy, and restart the services that read it)`,
  });
}

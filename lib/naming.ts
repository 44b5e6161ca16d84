/**
 * The naming rules of the secrets tree, written once and used by the stack, the commands and the runtime:
 * env and service names, secret names, their environment variable, S3 object key and encryption context.
 */
import { NamingError } from './errors.ts';
import { printable } from './printable.ts';

const ENV_OR_SERVICE = /^[a-z0-9][a-z0-9-]*$/;
const MAX_ENV_OR_SERVICE_LENGTH = 32;
const ENV_VAR = /^[A-Z_][A-Z0-9_]*$/;
const SECRET_NAME_CHARS = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_SECRET_NAME_LENGTH = 128;

export const ENV_OR_SERVICE_RULE = `[a-z0-9][a-z0-9-]*, at most ${MAX_ENV_OR_SERVICE_LENGTH} characters`;
export const SECRET_NAME_RULE =
  'letters, digits, "_", "-" and "." (not first), at most 128 characters; upper-cased with "-" and "." as "_" ' +
  'it must be an environment variable name [A-Z_][A-Z0-9_]* (so it cannot start with a digit)';

/** Where a secret lives: secrets/<env>/<service>/<name>. */
export interface SecretRef {
  readonly env: string;
  readonly service: string;
  readonly name: string;
}

/** Why `name` is not a valid env or service name, or undefined when it is. */
export function envOrServiceProblem(kind: 'env' | 'service', name: string): string | undefined {
  if (!ENV_OR_SERVICE.test(name) || name.length > MAX_ENV_OR_SERVICE_LENGTH) {
    return `${kind} name "${printable(name)}" must match ${ENV_OR_SERVICE_RULE}`;
  }
  return undefined;
}

/** Why `name` is not a valid secret name, or undefined when it is. */
export function secretNameProblem(name: string): string | undefined {
  if (!SECRET_NAME_CHARS.test(name) || name.length > MAX_SECRET_NAME_LENGTH || !ENV_VAR.test(toEnvVarName(name))) {
    return `secret name "${printable(name)}" breaks the naming rule: ${SECRET_NAME_RULE}`;
  }
  return undefined;
}

/** The environment variable a secret is exposed as: upper case, "-" and "." become "_". */
export function envVarName(secretName: string): string {
  const problem = secretNameProblem(secretName);
  if (problem) throw new NamingError(problem);
  return toEnvVarName(secretName);
}

function toEnvVarName(secretName: string): string {
  return secretName.toUpperCase().replace(/[-.]/g, '_');
}

export function assertEnvName(env: string): void {
  const problem = envOrServiceProblem('env', env);
  if (problem) throw new NamingError(problem);
}

/** Parses `<service>/<secret>` as typed on the command line, e.g. `api/password`. */
export function parseSecretPath(env: string, path: string): SecretRef {
  assertEnvName(env);
  const parts = path.split('/');
  if (parts.length !== 2) {
    throw new NamingError(`"${path}" is not <service>/<secret>`, { hint: 'name a secret as service/name, e.g. api/db-password' });
  }
  const [service, name] = parts as [string, string];
  const problem = envOrServiceProblem('service', service) ?? secretNameProblem(name);
  if (problem) throw new NamingError(problem);
  return { env, service, name };
}

/** The S3 object key of a secret in its environment's bucket. */
export function objectKey(ref: Pick<SecretRef, 'service' | 'name'>): string {
  return `${ref.service}/${ref.name}`;
}

/**
 * The encryption context that binds a ciphertext to its place: decrypting a file moved to another env,
 * service or name fails, and key-policy conditions on `kms:EncryptionContext:service` give each task role
 * only its own service's secrets.
 */
export function encryptionContext(ref: SecretRef): Record<string, string> {
  return { env: ref.env, service: ref.service, secret: ref.name };
}

/**
 * The declared secrets of a service: which names (and so which environment variables) it receives. Names are
 * infrastructure, values are data: the stack derives each service's list from the tree at synth, the key
 * policy lets the service's task roles decrypt only ciphertext whose `kms:EncryptionContext:secret` is on it,
 * and the list is written to the bucket as one object per service that only an administrator's apply may
 * write, so the runtime refuses an undeclared object by name before it asks KMS.
 *
 * The object lives outside every service prefix (`.declared/<service>.json`: service names never start with
 * "."), so the deployer, who may write only the services' prefixes, can never write it.
 */
import { KmsSecretsError } from './errors.ts';
import { envVarName, secretNameProblem } from './naming.ts';
import { printable } from './printable.ts';

/** Every declared list is under this prefix of the env's bucket, and nothing else is. */
export const DECLARED_PREFIX = '.declared/';
const FORMAT = 'kms-secrets/declared-secrets-v1';
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** e.g. `.declared/api.json` */
export function declaredListKey(service: string): string {
  return `${DECLARED_PREFIX}${service}.json`;
}

/** The service whose list `key` is, or undefined when `key` is not a declared list's key. */
export function serviceOfDeclaredListKey(key: string): string | undefined {
  const match = /^\.declared\/([a-z0-9][a-z0-9-]*)\.json$/.exec(key);
  return match?.[1];
}

export interface DeclaredList {
  readonly env: string;
  readonly service: string;
  /** Secret names (file names, e.g. `db-password`), sorted. */
  readonly secrets: readonly string[];
  /** The env's key: the runtime decrypts under it alone. */
  readonly keyArn: string;
}

/** The object's content: stable (sorted, one line), so an unchanged tree plans no change. */
export function declaredListContent(list: DeclaredList): string {
  return JSON.stringify({ format: FORMAT, env: list.env, service: list.service, keyArn: list.keyArn, secrets: [...new Set(list.secrets)].sort() });
}

/** A declared list that cannot be used: the start fails, naming the object and what to do. */
export class DeclaredListError extends KmsSecretsError {}

/** Reads a declared list, checking it is the list of `expected` env and service. */
export function parseDeclaredList(text: string, expected: { env: string; service: string }, where: string): DeclaredList {
  const hint = 'the declared list is written by an administrator\'s apply of the env\'s stack: apply it, then start again';
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new DeclaredListError(`${where} is not a declared list (not JSON)`, { hint });
  }
  const list = raw as Partial<Record<'format' | 'env' | 'service' | 'secrets' | 'keyArn', unknown>>;
  if (typeof raw !== 'object' || raw === null || list.format !== FORMAT || !Array.isArray(list.secrets)) {
    throw new DeclaredListError(`${where} is not a declared list of format ${FORMAT}`, { hint });
  }
  if (list.env !== expected.env || list.service !== expected.service) {
    throw new DeclaredListError(`${where} declares the secrets of env ${printable(String(list.env))}, service ${printable(String(list.service))}, not of env ${expected.env}, service ${expected.service}`, { hint });
  }
  const bad = list.secrets.find((name) => typeof name !== 'string' || secretNameProblem(name) !== undefined);
  if (bad !== undefined) throw new DeclaredListError(`${where} holds "${printable(String(bad))}", which is not a secret name`, { hint });
  if (typeof list.keyArn !== 'string' || !KEY_ARN.test(list.keyArn)) {
    throw new DeclaredListError(`${where} names no KMS key ARN (keyArn "${printable(String(list.keyArn))}")`, { hint });
  }
  return { env: expected.env, service: expected.service, secrets: [...(list.secrets as string[])].sort(), keyArn: list.keyArn };
}

/** The variables a change of a service's declared list adds and removes, for plan-check's report. */
export function declaredChange(before: readonly string[], after: readonly string[]): { gained: string[]; lost: string[] } {
  const variables = (names: readonly string[]) => new Set(names.map(envVarName));
  const old = variables(before);
  const now = variables(after);
  return { gained: [...now].filter((v) => !old.has(v)).sort(), lost: [...old].filter((v) => !now.has(v)).sort() };
}

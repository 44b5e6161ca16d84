/**
 * Names of the IAM roles and policies of an environment: `kms-secrets-<env>.<suffix>`. Env names never
 * contain a ".", so the first "." ends the env: no name or pattern of env `demo` (`kms-secrets-demo.*`)
 * can match a name of env `demo-eu`, and no two envs can ever want the same name. IAM allows 64 characters.
 */
import { KmsSecretsError } from '../lib/errors.ts';

const PREFIX = 'kms-secrets-';
const SEPARATOR = '.';
const MAX_IAM_NAME = 64;

/** e.g. kms-secrets-staging.task-api, kms-secrets-staging.ci-plan */
export function iamName(env: string, suffix: string): string {
  const name = `${PREFIX}${env}${SEPARATOR}${suffix}`;
  if (name.length > MAX_IAM_NAME) {
    throw new KmsSecretsError(`IAM name ${name} is longer than ${MAX_IAM_NAME} characters`, {
      hint: `shorten the env or service name (env + service may be at most ${MAX_IAM_NAME - PREFIX.length - `${SEPARATOR}task-`.length} characters together)`,
    });
  }
  return name;
}

/** Every role and policy of the env matches this name pattern, and none of any other env does. */
export function iamNamePattern(env: string): string {
  return `${PREFIX}${env}${SEPARATOR}*`;
}

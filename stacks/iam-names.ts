/** Names of the IAM roles and policies of an environment; IAM allows at most 64 characters. */
import { KmsSecretsError } from '../lib/errors.ts';

const PREFIX = 'kms-secrets-';
const MAX_IAM_NAME = 64;

/** e.g. kms-secrets-staging-task-api, kms-secrets-staging-ci-plan */
export function iamName(env: string, suffix: string): string {
  const name = `${PREFIX}${env}-${suffix}`;
  if (name.length > MAX_IAM_NAME) {
    throw new KmsSecretsError(`IAM name ${name} is longer than ${MAX_IAM_NAME} characters`, {
      hint: `shorten the env or service name (env + service may be at most ${MAX_IAM_NAME - PREFIX.length - '-task-'.length} characters together)`,
    });
  }
  return name;
}

/** Every role and policy of the env matches this name pattern; the deployer manages only those. */
export function iamNamePattern(env: string): string {
  return `${PREFIX}${env}-*`;
}

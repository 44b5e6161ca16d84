/**
 * A failed KMS call as one line a developer can act on, plus a hint: which command needed which
 * permission on which key, and what to do. Built from lib/aws-errors.ts's classification; AWS messages
 * name actions and resources, never payloads, so quoting them never shows a value.
 */
import { classifyAwsError } from '../lib/aws-errors.ts';
import { CONNECTION_TIMEOUT_MS, DEFAULT_MAX_ATTEMPTS, REQUEST_TIMEOUT_MS } from '../lib/aws.ts';
import { KmsSecretsError } from '../lib/errors.ts';

export interface KmsOperation {
  /** The command, e.g. "encrypt". */
  readonly command: string;
  /** The IAM permission(s) the call needs, e.g. "kms:Encrypt". */
  readonly permission: string;
  /** The key as the user named it (alias, key id or ARN), or a phrase such as "the key that encrypted it". */
  readonly key: string;
  /** The option that chooses another key, e.g. "--key", when the command has one. */
  readonly keyOption?: string;
  readonly env: string;
  /** The env has no directory yet, so it cannot have been deployed. */
  readonly newEnv?: boolean;
  readonly region: string | undefined;
  /** What the call was about, e.g. "secrets/staging/api/db-password"; prefixes the message. */
  readonly subject?: string;
}

export function kmsFailure(error: unknown, op: KmsOperation): KmsSecretsError {
  if (error instanceof KmsSecretsError) return error;
  const { kind, cause } = classifyAwsError(error);
  const where = op.subject ? `${op.subject}: ` : '';
  switch (kind) {
    case 'access-denied':
      return new KmsSecretsError(`${where}${op.command} needs ${op.permission} on ${op.key}: ${cause}`, {
        hint: `use credentials that hold ${op.permission} on ${op.key} (--profile, AWS_PROFILE), or ask the key's administrators for it`,
      });
    case 'no-credentials':
      return new KmsSecretsError(`${where}${cause}`, {
        hint: 'pick credentials: --profile NAME or AWS_PROFILE (after `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      });
    case 'disabled-key':
      return new KmsSecretsError(`${where}${op.key} cannot be used, it is disabled or pending deletion: ${cause}`, {
        hint: `enable it (aws kms enable-key; after cancel-key-deletion too)${op.keyOption ? `, or choose another key with ${op.keyOption}` : ''}`,
      });
    case 'not-found':
      return new KmsSecretsError(`${where}${op.key} does not exist in region ${op.region ?? '(unset)'}: ${cause}`, {
        hint: op.newEnv
          ? `env ${op.env} is new, so it has no key yet: mkdir -p secrets/${op.env} && npm run cdktf -- deploy ${op.env} (an administrator's first deploy creates it), then encrypt again`
          : `deploy the env first (npm run cdktf -- deploy ${op.env}), or check --region${op.keyOption ? ` and ${op.keyOption}` : ''}`,
      });
    case 'throttled':
      return new KmsSecretsError(`${where}KMS kept throttling ${op.permission} after ${DEFAULT_MAX_ATTEMPTS} attempts with adaptive backoff: ${cause}`, {
        hint: 'every caller in the account and region shares one KMS request quota; try again in a moment',
      });
    case 'unreachable':
      return new KmsSecretsError(`${where}cannot reach KMS in region ${op.region ?? '(unset)'}: ${cause}`, {
        hint: 'check the network, or AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS when you use the local endpoint',
      });
    case 'timed-out':
      return new KmsSecretsError(`${where}KMS in region ${op.region ?? '(unset)'} did not answer ${op.permission} in time, ${DEFAULT_MAX_ATTEMPTS} attempts in a row `
        + `(${CONNECTION_TIMEOUT_MS / 1000} s to connect, ${REQUEST_TIMEOUT_MS / 1000} s to answer): ${cause}`, {
        hint: 'the endpoint accepts connections but does not answer: check the network or proxy, or AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS',
      });
    case 'context-mismatch':
      return new KmsSecretsError(`${where}${cause}`, {
        hint: 'a ciphertext is bound to its env, service and name; encrypt the value again at this place',
      });
    default:
      return new KmsSecretsError(`${where}${op.command} failed: ${cause}`);
  }
}

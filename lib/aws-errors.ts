/**
 * What went wrong in an AWS call, in words a person can act on. Shared by the commands and the runtime
 * so that "AccessDenied", "throttled" or "moved ciphertext" read the same everywhere. AWS error messages
 * name actions and resources, never payloads, so they are safe to show.
 */
export type FailureKind =
  | 'access-denied' | 'not-found' | 'context-mismatch' | 'throttled' | 'disabled-key'
  | 'no-credentials' | 'unreachable' | 'timed-out' | 'invalid-input' | 'other';

export interface Failure {
  readonly kind: FailureKind;
  /** One line: the cause, e.g. "AccessDenied: User … is not authorized to perform: kms:Decrypt on …". */
  readonly cause: string;
}

const KINDS: Record<string, FailureKind> = {
  AccessDeniedException: 'access-denied',
  AccessDenied: 'access-denied',
  UnauthorizedOperation: 'access-denied',
  InvalidCiphertextException: 'context-mismatch',
  IncorrectKeyException: 'context-mismatch',
  NoSuchKey: 'not-found',
  NoSuchBucket: 'not-found',
  NotFound: 'not-found',
  NotFoundException: 'not-found',
  ParameterNotFound: 'not-found',
  ParameterVersionNotFound: 'not-found',
  ResourceNotFoundException: 'not-found',
  ThrottlingException: 'throttled',
  Throttling: 'throttled',
  SlowDown: 'throttled',
  TooManyRequestsException: 'throttled',
  RequestLimitExceeded: 'throttled',
  DisabledException: 'disabled-key',
  KMSInvalidStateException: 'disabled-key',
  CredentialsProviderError: 'no-credentials',
  ValidationException: 'invalid-input',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE']);

export function classifyAwsError(error: unknown): Failure {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const message = (e?.message ?? String(error)).split('\n')[0]!;
  const kind = KINDS[name]
    // The SDK's own timeouts (lib/aws.ts): connected, or not, and no answer in time.
    ?? (name === 'TimeoutError' ? 'timed-out' : undefined)
    ?? (e?.code && NETWORK_CODES.has(e.code) ? 'unreachable' : undefined)
    ?? (/ECONNREFUSED|ENOTFOUND|socket hang up/.test(message) ? 'unreachable' : undefined)
    ?? (e?.$metadata?.httpStatusCode === 404 ? 'not-found' : undefined)
    ?? (e?.$metadata?.httpStatusCode === 403 ? 'access-denied' : undefined)
    ?? 'other';
  const cause = kind === 'context-mismatch'
    ? `${name}: the ciphertext was made for another env/service/secret (encryption context) or with a key this caller cannot use`
    : kind === 'no-credentials'
      ? 'no AWS credentials found (default chain: AWS_ACCESS_KEY_ID, AWS_PROFILE, SSO, container or instance role)'
      : `${name}: ${message}`;
  return { kind, cause };
}

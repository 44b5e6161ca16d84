/**
 * Why a secret could not be loaded, one line each. The runtime fails closed, so these lines are all an
 * operator sees of a task that did not start: they name the service/secret (or variable) and the kind
 * of cause, and they never contain a value (AWS messages name actions and resources, never payloads).
 */
import { classifyAwsError, type FailureKind } from '../lib/aws-errors.ts';
import { KmsSecretsError } from '../lib/errors.ts';
import { printable } from '../lib/printable.ts';
import type { Selection } from './selection.ts';

export type LoadFailureKind =
  | FailureKind
  /** The overall deadline passed before the secret was loaded. */
  | 'deadline'
  /** An object key or variable that breaks the naming rule, or two secrets for one variable. */
  | 'naming'
  /** A secret whose variable changes how programs start or load code (NODE_OPTIONS, LD_PRELOAD, …). */
  | 'loader-variable'
  /** An object whose name the service's declared list does not hold, or a declared list that cannot be used. */
  | 'not-declared'
  /** An object under the service prefix that is not ciphertext. */
  | 'not-ciphertext'
  /** A value an environment variable cannot hold (not UTF-8, or a NUL byte), or a binary Secrets Manager secret. */
  | 'not-text'
  /** A variable already set in the environment that a secret would replace (see --override). */
  | 'already-set'
  /** A value larger than the kernel lets one environment variable be. */
  | 'too-large';

export interface LoadFailure {
  /** What failed: `api/db-password`, `api/*` for a listing, or `DATABASE_URL=ssm://…` for a reference. */
  readonly subject: string;
  readonly kind: LoadFailureKind;
  /** The cause in one line, without any value. */
  readonly cause: string;
}

const KIND_WORDS: Record<LoadFailureKind, string> = {
  'access-denied': 'AccessDenied',
  'not-found': 'not found',
  'context-mismatch': 'context mismatch',
  throttled: 'throttled',
  deadline: 'deadline exceeded',
  unreachable: 'endpoint unreachable',
  'timed-out': 'timed out',
  'disabled-key': 'key disabled',
  'no-credentials': 'no credentials',
  'invalid-input': 'invalid request',
  naming: 'naming rule',
  'loader-variable': 'loader variable',
  'not-declared': 'not declared',
  'not-ciphertext': 'not ciphertext',
  'not-text': 'not text',
  'already-set': 'already set',
  'too-large': 'too large',
  other: 'error',
};

export function failureLine(failure: LoadFailure): string {
  // An object key comes from the bucket, where anyone who may put objects chose it.
  return `${printable(failure.subject)}: ${KIND_WORDS[failure.kind]} (${printable(failure.cause)})`;
}

/** Throttled answers during one load, by service: each a retry the SDK waited for. */
export interface Throttles {
  readonly kms: number;
  readonly s3: number;
}

const NO_THROTTLES: Throttles = { kms: 0, s3: 0 };

/** Some secrets could not be loaded; every failure is listed, one per line, by subject. */
export class SecretsLoadError extends KmsSecretsError {
  readonly failures: readonly LoadFailure[];
  /** Why the failures came about, when AWS throttled the load: how often, and what to do about it. */
  readonly throttling?: string;
  /** Why the failures came about, when the env and the bucket are not one env's: they say which. */
  readonly disagreement?: string;

  /** `selection`, when given, lets a failure AWS reports about the bucket be traced to an env and bucket that disagree. */
  constructor(unsorted: readonly LoadFailure[], throttles: Throttles = NO_THROTTLES, selection?: Pick<Selection, 'bucket' | 'env'>) {
    const failures = [...unsorted].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
    const count = `${failures.length} secret${failures.length === 1 ? '' : 's'}`;
    // Only where throttling is what failed: the deadline passed, or a call ran out of attempts.
    const throttling = failures.some((f) => f.kind === 'deadline' || f.kind === 'throttled') ? throttlingLine(throttles) : undefined;
    const disagreement = selection && failures.some((f) => DISAGREEMENT_KINDS.has(f.kind)) ? disagreementLine(selection) : undefined;
    const why = [disagreement, throttling].filter(Boolean).map((line) => `\n${line}`).join('');
    super(`${count} could not be loaded:\n${failures.map((f) => `  ${failureLine(f)}`).join('\n')}${why}`, {
      hint: disagreement ? DISAGREEMENT_HINT : throttling ? QUOTA_HINT : 'nothing was started; fix the causes above (task role, object keys, references) and start again',
    });
    this.failures = failures;
    this.throttling = throttling;
    this.disagreement = disagreement;
  }
}

/** What AWS answers when the bucket is another env's: its role may not read it, its ciphertext is another env's. */
const DISAGREEMENT_KINDS: ReadonlySet<LoadFailureKind> = new Set(['access-denied', 'context-mismatch', 'not-declared', 'not-found']);

const DISAGREEMENT_HINT = 'give the env and the bucket of one env: the stack outputs both for each service, as SECRETS_ENV and SECRETS_BUCKET';

/**
 * The stack names an env's bucket `<bucketPrefix><env>-secrets` (lib/settings.ts): a bucket named otherwise
 * is, all but certainly, another env's — `--env prod` with staging's bucket.
 */
function disagreementLine({ bucket, env }: Pick<Selection, 'bucket' | 'env'>): string | undefined {
  if (bucket.endsWith(`${env}-secrets`)) return undefined;
  return `the env and the bucket disagree: the env is ${env} (--env or SECRETS_ENV), but the bucket ${printable(bucket)} (--bucket or SECRETS_BUCKET) `
    + `is not env ${env}'s, which the stack names <bucketPrefix>${env}-secrets`;
}

/** What a fleet that outgrew its quota can do; docs/benchmarks.md's "Capacity planning" says more. */
export const QUOTA_HINT = 'a fleet needs about tasks × secrets ÷ the Region\'s KMS quota seconds to start: '
  + 'give --deadline room above that, start large services in batches (the ECS deployment\'s maximumPercent), '
  + 'or ask for a higher "Cryptographic operations (symmetric) request rate" in Service Quotas';

function throttlingLine({ kms, s3 }: Throttles): string | undefined {
  const answers = [
    ...(kms > 0 ? [`KMS answered ${kms} request${kms === 1 ? '' : 's'} with ThrottlingException`] : []),
    ...(s3 > 0 ? [`S3 answered ${s3} request${s3 === 1 ? '' : 's'} with SlowDown`] : []),
  ];
  if (answers.length === 0) return undefined;
  return `throttled: ${answers.join(' and ')} during this load; the account's request quota is shared by every task starting now`;
}

/**
 * The failure an error of an AWS call stands for. Once the deadline's signal has fired, whatever the
 * call was doing (typically backing off from throttling) is reported as the deadline.
 */
export function failureFromError(subject: string, error: unknown, signal: AbortSignal): LoadFailure {
  if (signal.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : 'the deadline passed';
    return { subject, kind: 'deadline', cause: reason };
  }
  return { subject, ...classifyAwsError(error) };
}

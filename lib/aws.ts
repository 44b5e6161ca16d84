/**
 * The one place that builds AWS clients: region, credentials, endpoint override, retries.
 * Credentials and endpoints follow the SDK's own rules, so the default chain, AWS_PROFILE and
 * AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> work as users expect; the local endpoint is used that way.
 */
import { KMS } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { STSClient } from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { AdaptiveRetryStrategy, DefaultRateLimiter } from '@smithy/core/retry';

export interface AwsOptions {
  /** Region; the SDK's own resolution (AWS_REGION, profile) applies when unset. */
  readonly region?: string;
  /** A named profile from the shared config files. */
  readonly profile?: string;
  /** Overrides AWS_ENDPOINT_URL for every client (tests and the demo pass the local endpoint here). */
  readonly endpoint?: string;
  /** Explicit credentials, e.g. a principal the local endpoint issued. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Total attempts per call, first try included. @default 8 */
  readonly maxAttempts?: number;
}

/** The SDK clients the project uses, built once with the same settings. */
export interface AwsClients {
  /** The aggregated client: `send` for our calls, and the methods the AWS Encryption SDK calls. */
  readonly kms: KMS;
  readonly s3: S3Client;
  /**
   * The clients a container start does not need: their SDK modules are imported on first use, as
   * evaluating them is time every start would pay (the SSM client's alone is ~8% of one).
   */
  sts(): Promise<STSClient>;
  ssm(): Promise<SSMClient>;
  secretsManager(): Promise<SecretsManagerClient>;
  readonly region: string | undefined;
  /** Closes the sockets of every client built so far. */
  destroy(): void;
}

export const DEFAULT_MAX_ATTEMPTS = 8;
/** No AWS call waits longer than this for a connection, or for an answer once connected; then it is retried. */
export const CONNECTION_TIMEOUT_MS = 3_000;
export const REQUEST_TIMEOUT_MS = 5_000;
/**
 * How fast a client's sending rate grows back after a throttle, in the SDK's adaptive (CUBIC) rate limiter:
 * ten times the SDK's 0.4. At 0.4 a task throttled at 5 calls/s took about 1.5 s to get back to that rate, and
 * the last tasks of a fleet kept crawling after the others had finished and left the quota free.
 */
export const RATE_RECOVERY_SCALE = 4;

export function awsClients(options: AwsOptions = {}): AwsClients {
  const common = {
    region: options.region,
    profile: options.profile,
    endpoint: options.endpoint,
    // One default chain for all clients, where each would otherwise resolve its own: a task's start asks
    // ECS (or STS, for a web identity) for credentials once, not once for S3 and again for KMS.
    credentials: options.credentials ?? defaultProvider({ profile: options.profile }),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    // An endpoint that accepts a connection and never answers must not hold a command for ever.
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  };
  const endpointOverridden = Boolean(options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  // Each client is built on first use: a container start needs only S3 and KMS, and building a client
  // resolves its whole configuration.
  const built: { destroy(): void }[] = [];
  // Each client its own retry state and rate limiter: a throttled S3 does not slow KMS calls, nor the reverse.
  const config = () => ({ ...common, retryStrategy: adaptiveRetries(common.maxAttempts) });
  const track = <T extends { destroy(): void }>(build: () => T): T => {
    const client = withoutNodeVersionWarning(build);
    built.push(client);
    return client;
  };
  const kms = once(() => track(() => new KMS(config())));
  // Custom endpoints (the local one, MinIO-like gateways) are addressed path-style.
  const s3 = once(() => track(() => new S3Client({ ...config(), forcePathStyle: endpointOverridden })));
  const sts = once(async () => {
    const { STSClient } = await import('@aws-sdk/client-sts');
    return track(() => new STSClient(config()));
  });
  const ssm = once(async () => {
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    return track(() => new SSMClient(config()));
  });
  const secretsManager = once(async () => {
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    return track(() => new SecretsManagerClient(config()));
  });
  return {
    get kms() { return kms(); },
    get s3() { return s3(); },
    sts,
    ssm,
    secretsManager,
    region: options.region,
    destroy: () => {
      for (const client of built) client.destroy();
    },
  };
}

/**
 * The SDK's adaptive retry mode, one per client: retries with jittered exponential backoff, plus client-side
 * rate limiting once throttled, as the quotas (KMS's above all) are shared by every task of the account.
 */
function adaptiveRetries(maxAttempts: number): AdaptiveRetryStrategy {
  return new AdaptiveRetryStrategy(maxAttempts, { maxAttempts, rateLimiter: new DefaultRateLimiter({ scaleConstant: RATE_RECOVERY_SCALE }) });
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/**
 * The SDK warns on stderr under Node < 22 about its releases after January 2027. The project supports
 * Node 20 with the SDK versions its lockfile pins, and stderr is for our own one-line errors. The switch
 * is set only while clients are built, so it never reaches an app's environment through `exec`.
 */
function withoutNodeVersionWarning<T>(build: () => T): T {
  const name = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  const previous = process.env[name];
  process.env[name] = 'true';
  try {
    return build();
  } finally {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  }
}

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
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { classifyAwsError } from './aws-errors.ts';
import { KmsSecretsError } from './errors.ts';

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
  /** Told before each retry of a call, so a person is not left waiting in silence. @default nobody */
  readonly onRetry?: (retry: Retry) => void;
}

/** A call about to be tried again: to which service and endpoint, which attempt, and why the last one failed. */
export interface Retry {
  /** e.g. "KMS" */
  readonly service: string;
  /** e.g. "https://kms.eu-west-1.amazonaws.com" */
  readonly endpoint: string;
  /** 2 for the first retry. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Why the last attempt failed, in words (lib/aws-errors.ts). */
  readonly cause: string;
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
  const track = <T extends { destroy(): void; middlewareStack: unknown }>(service: string, build: () => T): T => {
    const client = withoutNodeVersionWarning(build);
    if (options.onRetry) announceRetries(client.middlewareStack as MiddlewareStack, service, options.onRetry);
    built.push(client);
    return client;
  };
  const kms = once(() => track('KMS', () => new KMS(config())));
  // Custom endpoints (the local one, MinIO-like gateways) are addressed path-style.
  const s3 = once(() => track('S3', () => new S3Client({ ...config(), forcePathStyle: endpointOverridden })));
  const sts = once(async () => {
    const { STSClient } = await import('@aws-sdk/client-sts');
    return track('STS', () => new STSClient(config()));
  });
  const ssm = once(async () => {
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    return track('SSM', () => new SSMClient(config()));
  });
  const secretsManager = once(async () => {
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    return track('Secrets Manager', () => new SecretsManagerClient(config()));
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

/** The part of an SDK client's middleware stack this module adds to (smithy's public `MiddlewareStack`). */
interface MiddlewareStack {
  add(middleware: (next: (args: { request?: unknown }) => Promise<unknown>) => (args: { request?: unknown }) => Promise<unknown>, options: object): void;
}

/** The request as the SDK's HTTP layer holds it, as far as a retry notice reads it. */
interface HttpRequestLike {
  readonly protocol?: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly headers?: Record<string, string>;
}

/**
 * Calls `onRetry` before each retry of a call. The step runs inside the SDK's retry loop (which is
 * `finalizeRequest`, priority high; this is low), where the retry strategy has numbered the attempt in the
 * `amz-sdk-request` header ("attempt=2; max=8"). The stack is resolved for each call, so `last` is the call's own.
 */
function announceRetries(stack: MiddlewareStack, service: string, onRetry: (retry: Retry) => void): void {
  stack.add((next) => {
    let last = '';
    return async (args) => {
      const request = (args.request ?? {}) as HttpRequestLike;
      const numbered = /attempt=(\d+); max=(\d+)/.exec(request.headers?.['amz-sdk-request'] ?? '');
      if (numbered && Number(numbered[1]) > 1) {
        const endpoint = `${request.protocol ?? 'https:'}//${request.hostname ?? ''}${request.port ? `:${request.port}` : ''}`;
        onRetry({ service, endpoint, attempt: Number(numbered[1]), maxAttempts: Number(numbered[2]), cause: last });
      }
      try {
        return await next(args);
      } catch (error) {
        const { kind, cause } = classifyAwsError(error);
        last = kind === 'timed-out' ? `no answer in time (${CONNECTION_TIMEOUT_MS / 1000} s to connect, ${REQUEST_TIMEOUT_MS / 1000} s to answer)` : cause;
        throw error;
      }
    };
  }, { step: 'finalizeRequest', priority: 'low', name: 'kmsSecretsRetryNotice' });
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
export function withoutNodeVersionWarning<T>(build: () => T): T {
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

/** The endpoint the SDK sends a service's calls to, when a variable sets one, and that variable. */
export function configuredEndpoint(service: 'KMS' | 'S3'): { readonly url: string; readonly variable: string } | undefined {
  const variable = [`AWS_ENDPOINT_URL_${service}`, 'AWS_ENDPOINT_URL'].find((name) => process.env[name]);
  return variable ? { url: process.env[variable]!, variable } : undefined;
}

/** Whether `url` is an address of this machine (loopback): the local endpoint's, or another emulator's, never AWS. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Refuses a named profile that neither shared file defines, naming both files and the profiles they have.
 * The SDK skips every other credential source once a profile is named, so such a profile could only end in
 * "no AWS credentials found", which names neither the profile nor where it was looked for.
 */
export function assertProfileExists(profile: string, source: string): void {
  const files = [
    { path: process.env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config'), section: /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]/ },
    { path: process.env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials'), section: /^\[\s*([^\]]+?)\s*\]/ },
  ];
  const found = files.map(({ path, section }) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return { path, profiles: undefined };
    }
    const profiles = text.split(/\r?\n/).map((line) => section.exec(line.trim())?.[1]).filter((name): name is string => name !== undefined);
    return { path, profiles: profiles.filter((name) => !/^(sso-session|services)\s/.test(name)) };
  });
  if (found.some(({ profiles }) => profiles?.includes(profile))) return;
  const searched = found.map(({ path, profiles }) => `${path} (${profiles === undefined ? 'no such file' : profiles.length > 0 ? `profiles: ${[...new Set(profiles)].join(', ')}` : 'no profile'})`);
  throw new KmsSecretsError(`AWS profile "${profile}" (from ${source}) is in neither shared file: ${searched.join(', ')}`, {
    hint: `name a profile that exists (aws configure list-profiles), or create this one: aws configure --profile ${profile}, or aws configure sso`,
  });
}

/**
 * Request quotas as AWS enforces them, off unless asked for: one account-wide rate for KMS's symmetric
 * cryptographic operations (KMS answers ThrottlingException above it; on AWS 10,000 per second by default,
 * 20,000 in six Regions, 100,000 in us-east-1, us-west-2 and eu-west-1), and optionally S3's GET rate per
 * prefix (SlowDown above it; 5,500 per second on AWS). Each is a token bucket holding one second of requests,
 * refilled continuously.
 */
import { AwsError, type ServiceName } from './protocol.ts';

export interface QuotaSettings {
  /** KMS cryptographic requests per second, for the whole account and Region. @default no quota */
  readonly kmsPerSecond?: number;
  /** S3 GET/HEAD requests per second per bucket and first key segment (a service's prefix). @default no quota */
  readonly s3GetPerSecondPerPrefix?: number;
}

/** The operations that share KMS's cryptographic request quota. */
export const KMS_CRYPTOGRAPHIC_OPERATIONS = new Set([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateRandom', 'ReEncrypt',
]);

/** Which quota answered a request with a throttle, for the request log. */
export type QuotaName = 'kms' | 's3-prefix';

class TokenBucket {
  private tokens: number;
  private refilledAt = performance.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class Quotas {
  private readonly kms?: TokenBucket;
  private readonly prefixes = new Map<string, TokenBucket>();

  constructor(private readonly settings: QuotaSettings = {}) {
    for (const [name, value] of Object.entries(settings)) {
      if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
        throw new Error(`quota ${name} must be a positive number of requests per second, not ${JSON.stringify(value)}`);
      }
    }
    if (settings.kmsPerSecond) this.kms = new TokenBucket(settings.kmsPerSecond);
  }

  /** Throws QuotaExceeded, with the service's own throttling error, when the request is over its quota. */
  take(service: ServiceName, operation: string, path: string): void {
    if (service === 'kms' && this.kms && KMS_CRYPTOGRAPHIC_OPERATIONS.has(operation) && !this.kms.take()) {
      throw new QuotaExceeded('kms', new AwsError('ThrottlingException', 'Rate exceeded', 400));
    }
    const perPrefix = this.settings.s3GetPerSecondPerPrefix;
    if (service === 's3' && perPrefix && (operation === 'GetObject' || operation === 'HeadObject')) {
      // /bucket/service/name → bucket/service/: the prefix S3 partitions by in this tree's layout.
      const prefix = path.split('/').slice(1, 3).join('/');
      let bucket = this.prefixes.get(prefix);
      if (!bucket) this.prefixes.set(prefix, (bucket = new TokenBucket(perPrefix)));
      if (!bucket.take()) throw new QuotaExceeded('s3-prefix', new AwsError('SlowDown', 'Please reduce your request rate.', 503));
    }
  }
}

/** A throttle by a quota: the AWS error to answer with, and the quota's name for the log. */
export class QuotaExceeded extends Error {
  constructor(readonly quota: QuotaName, readonly answer: AwsError) {
    super(answer.message);
  }
}

/**
 * Fault injection for tests: make chosen operations throttle, fail with a 500 or slow down, so retry
 * and timeout behaviour can be exercised against real SDK clients.
 */
import { AwsError, type ServiceName } from './protocol.ts';

export type FaultKind = 'throttle' | 'error500' | 'latency';

export interface FaultRule {
  /** The operation to affect, e.g. `Decrypt` or `GetObject`; every operation when unset. */
  readonly operation?: string;
  /** Limits the rule to one service. */
  readonly service?: ServiceName;
  readonly kind: FaultKind;
  /** How many matching requests the rule affects before it is used up. @default unlimited */
  readonly times?: number;
  /** Delay for `latency` faults. @default 1000 */
  readonly ms?: number;
}

export interface Faults {
  add(rule: FaultRule): void;
  clear(): void;
  list(): FaultRule[];
}

/** The service's own throttling answer, which SDKs recognise and retry with backoff. */
const THROTTLING: Record<ServiceName, () => AwsError> = {
  kms: () => new AwsError('ThrottlingException', 'Rate exceeded (injected fault)', 400),
  ssm: () => new AwsError('ThrottlingException', 'Rate exceeded (injected fault)', 400),
  secretsmanager: () => new AwsError('ThrottlingException', 'Rate exceeded (injected fault)', 400),
  s3: () => new AwsError('SlowDown', 'Please reduce your request rate. (injected fault)', 503),
  iam: () => new AwsError('Throttling', 'Rate exceeded (injected fault)', 400),
  sts: () => new AwsError('Throttling', 'Rate exceeded (injected fault)', 400),
  ecs: () => new AwsError('ThrottlingException', 'Rate exceeded (injected fault)', 400),
};

const INTERNAL_ERROR: Record<ServiceName, string> = {
  kms: 'KMSInternalException',
  ssm: 'InternalServerError',
  secretsmanager: 'InternalServiceError',
  s3: 'InternalError',
  iam: 'ServiceFailure',
  sts: 'InternalFailure',
  ecs: 'ServerException',
};

export function faultError(kind: Exclude<FaultKind, 'latency'>, service: ServiceName): AwsError {
  if (kind === 'throttle') return THROTTLING[service]();
  return new AwsError(INTERNAL_ERROR[service], 'We encountered an internal error. Please try again. (injected fault)', 500);
}

export class FaultInjector implements Faults {
  private rules: { rule: FaultRule; remaining: number }[] = [];

  add(rule: FaultRule): void {
    if (!['throttle', 'error500', 'latency'].includes(rule.kind)) {
      throw new Error(`Unknown fault kind ${JSON.stringify(rule.kind)}: use throttle, error500 or latency`);
    }
    this.rules.push({ rule, remaining: rule.times ?? Infinity });
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map(({ rule }) => rule);
  }

  /** The first rule matching this request, used up by one; undefined when none applies. */
  take(service: ServiceName, operation: string): FaultRule | undefined {
    const match = this.rules.find(({ rule, remaining }) =>
      remaining > 0 && (!rule.operation || rule.operation === operation) && (!rule.service || rule.service === service));
    if (!match) return undefined;
    match.remaining -= 1;
    return match.rule;
  }
}

/** Rules given to an out-of-process endpoint as JSON in LOCAL_AWS_FAULTS. */
export function faultsFromEnv(env: NodeJS.ProcessEnv): FaultRule[] {
  const text = env.LOCAL_AWS_FAULTS;
  if (!text) return [];
  const rules: unknown = JSON.parse(text);
  if (!Array.isArray(rules)) throw new Error('LOCAL_AWS_FAULTS must be a JSON array of fault rules');
  return rules as FaultRule[];
}

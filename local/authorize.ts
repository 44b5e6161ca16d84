/**
 * Authorization of requests made with AssumeRole credentials: the role's identity policies (inline and
 * attached managed) evaluated by @cloud-copilot/iam-simulate, with the request's action, resource ARN
 * and condition keys. Key policies and bucket policies are stored by the services but not evaluated:
 * every KMS key is treated as having the default key policy, which leaves the decision to IAM.
 *
 * runUnsafeSimulation is used on purpose: the validating runSimulation drops condition keys such as
 * `kms:EncryptionContext:service` (it only matches `prefix/variable` keys), and the policies were
 * already validated when IAM stored them.
 */
import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { NamedPolicy } from './iam.ts';
import { defaultKeyPolicy } from './kms.ts';
import { ACCOUNT_ID, type ContextValues } from './protocol.ts';

export interface AuthorizationRequest {
  /** The caller's ARN, e.g. `arn:aws:sts::000000000000:assumed-role/api-task/s1`. */
  readonly principal: string;
  /** The role the session belongs to, for `aws:PrincipalArn`. */
  readonly roleArn: string;
  readonly action: string;
  readonly resource: string;
  readonly region: string;
  readonly context?: ContextValues;
  readonly identityPolicies: readonly NamedPolicy[];
}

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

const KEY_POLICY = createValidatedPolicy(JSON.parse(defaultKeyPolicy()), validateResourcePolicy, { name: 'default key policy' });

export function evaluate(request: AuthorizationRequest): Decision {
  let result: string;
  try {
    result = runUnsafeSimulation({
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT_ID },
        contextVariables: { ...globalContext(request), ...request.context },
      },
      identityPolicies: request.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.action.startsWith('kms:') ? KEY_POLICY : undefined,
    }, {});
  } catch (error) {
    return { allowed: false, reason: `because its policies could not be evaluated (${(error as Error).message})` };
  }
  if (result === 'Allowed') return { allowed: true };
  return {
    allowed: false,
    reason: result === 'ExplicitlyDenied'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${request.action} action`,
  };
}

/** AWS's wording, which names the principal, the action and the resource. */
export function denialMessage(request: Pick<AuthorizationRequest, 'principal' | 'action' | 'resource'>, reason: string): string {
  return `User: ${request.principal} is not authorized to perform: ${request.action} on resource: ${request.resource} ${reason}`;
}

/**
 * Global condition keys every request carries. aws:SecureTransport is true although the endpoint speaks
 * plain HTTP on loopback, so policies written for production (deny when false) evaluate as they will there.
 */
function globalContext(request: AuthorizationRequest): ContextValues {
  return {
    'aws:SecureTransport': 'true',
    'aws:PrincipalArn': request.roleArn,
    'aws:PrincipalAccount': ACCOUNT_ID,
    'aws:PrincipalType': 'AssumedRole',
    'aws:RequestedRegion': request.region,
    'aws:CurrentTime': new Date().toISOString(),
  };
}

/**
 * Authorization as AWS evaluates it, with @cloud-copilot/iam-simulate: the caller's identity policies
 * together with the resource's own policy — the key policy for KMS, the bucket policy for S3, the role's
 * trust policy for sts:AssumeRole. An explicit deny anywhere wins; a same-account resource-policy allow
 * that names the caller counts; a key policy or trust policy must allow the account (or the caller) for
 * IAM policies to matter at all, as in KMS and STS.
 *
 * runUnsafeSimulation is used on purpose: the validating runSimulation drops condition keys such as
 * `kms:EncryptionContext:service` (it only matches `prefix/variable` keys), and the policies were
 * already validated when IAM, KMS and S3 stored them.
 *
 * NotPrincipal is decided here, not by the engine, which exempts an assumed-role session when its role or its
 * account is listed; AWS exempts only the principals named (a session by its session ARN).
 */
import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { NamedPolicy } from './iam.ts';
import { ACCOUNT_ID, type ContextValues } from './protocol.ts';

export interface AuthorizationRequest {
  /**
   * Who asks: an assumed-role session (`arn:aws:sts::000000000000:assumed-role/api-task/s1`), the account
   * root (the endpoint's admin), or a service principal (`ecs-tasks.amazonaws.com`).
   */
  readonly principal: string;
  /** `aws:PrincipalArn`: the role of a session, the root itself; absent for a service principal. */
  readonly principalArn?: string;
  readonly action: string;
  readonly resource: string;
  readonly region: string;
  readonly context?: ContextValues;
  readonly identityPolicies: readonly NamedPolicy[];
  /** The resource's own policy as stored (key policy, bucket policy, trust policy). @default none */
  readonly resourcePolicy?: string;
}

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

type Result = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** The admin's identity policy: the endpoint's admin is the account root, allowed everything IAM decides. */
export const ADMIN_POLICIES: readonly NamedPolicy[] = [{
  name: 'administrator',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
}];

/** A resource policy that delegates everything to the account's IAM policies, as KMS's default key policy does. */
const LEAVE_IT_TO_IAM = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: '*', Resource: '*' }],
});

const validatedResourcePolicies = new Map<string, unknown>();
const MAX_CACHED_POLICIES = 1000;

export function evaluate(request: AuthorizationRequest): Decision {
  const resourcePolicy = request.resourcePolicy === undefined ? undefined : validatedResourcePolicy(withoutNotPrincipal(request.resourcePolicy, request.principal));
  let result: Result;
  try {
    result = simulate(request, request.identityPolicies, resourcePolicy);
  } catch (error) {
    return { allowed: false, reason: `because its policies could not be evaluated (${(error as Error).message})` };
  }
  if (result === 'Allowed') return { allowed: true };
  return { allowed: false, reason: denialReason(request, result, resourcePolicy) };
}

/** AWS's wording, which names the principal, the action and the resource. */
export function denialMessage(request: Pick<AuthorizationRequest, 'principal' | 'action' | 'resource'>, reason: string): string {
  return `User: ${request.principal} is not authorized to perform: ${request.action} on resource: ${request.resource} ${reason}`;
}

/**
 * Which kind of policy said no, in AWS's words: told apart by asking again with a resource policy that
 * leaves everything to IAM, so only the identity policies decide.
 */
function denialReason(request: AuthorizationRequest, result: Exclude<Result, 'Allowed'>, resourcePolicy: unknown): string {
  // A service principal has no identity policies: only the resource policy speaks for it.
  const identityOnly = resourcePolicy === undefined ? result
    : request.principalArn === undefined ? 'Allowed'
      : simulate(request, request.identityPolicies, validatedResourcePolicy(LEAVE_IT_TO_IAM));
  if (result === 'ExplicitlyDenied') {
    return identityOnly === 'ExplicitlyDenied' ? 'with an explicit deny in an identity-based policy' : 'with an explicit deny in a resource-based policy';
  }
  return identityOnly === 'Allowed'
    ? `because no resource-based policy allows the ${request.action} action`
    : `because no identity-based policy allows the ${request.action} action`;
}

function simulate(request: AuthorizationRequest, identityPolicies: readonly NamedPolicy[], resourcePolicy: unknown): Result {
  return runUnsafeSimulation({
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: ACCOUNT_ID },
      contextVariables: { ...globalContext(request), ...request.context },
    },
    identityPolicies: identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
  }, {}) as Result;
}

/**
 * The policy as it applies to `principal`, with no NotPrincipal left: a statement whose NotPrincipal names the
 * principal itself does not apply to it, and any other applies to it as to everyone. Naming a role or an account
 * exempts neither the role's sessions nor the account's principals: AWS's NotPrincipal page lists the session ARN
 * to exempt a session ("Principals must always name a specific session").
 */
function withoutNotPrincipal(document: string, principal: string): string {
  if (!document.includes('"NotPrincipal"')) return document;
  const policy = JSON.parse(document) as object;
  const applying = statementsOf(policy).flatMap(({ NotPrincipal, ...statement }) => {
    if (NotPrincipal === undefined) return [statement];
    return names(NotPrincipal, principal) ? [] : [{ ...statement, Principal: '*' }];
  });
  return JSON.stringify({ ...policy, Statement: applying });
}

/** Whether a Principal or NotPrincipal element names exactly `principal` (or everyone). */
function names(element: unknown, principal: string): boolean {
  if (element === '*') return true;
  return principalValues(element).some(({ type, value }) => value === '*' || value === principal
    || (type === 'AWS' && /^\d{12}$/.test(value) && principal === `arn:aws:iam::${value}:root`));
}

/**
 * The first principal of a policy that AWS refuses to store: a wildcard counts only as the whole principal
 * (`"*"`, `{"AWS": "*"}`), never as part of a name or ARN ("You cannot use a wildcard to match part of a
 * principal name or ARN", IAM's Principal page); a Principal given as a string must be `"*"`.
 */
export function invalidPrincipal(policy: unknown): { readonly type?: string; readonly value: string } | undefined {
  for (const { Principal, NotPrincipal } of statementsOf(policy)) {
    for (const element of [Principal, NotPrincipal]) {
      if (typeof element === 'string' && element !== '*') return { value: element };
      const invalid = principalValues(element).find(({ type, value }) => value.includes('*') && !(type === 'AWS' && value === '*'));
      if (invalid) return invalid;
    }
  }
  return undefined;
}

/** A policy's Statement, one statement or a list. */
function statementsOf(policy: unknown): Record<string, unknown>[] {
  const statement = (policy as { Statement?: unknown } | null)?.Statement;
  return [statement].flat().filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null);
}

/** `{"AWS": [a, b], "Service": c}` → [{AWS, a}, {AWS, b}, {Service, c}]. */
function principalValues(element: unknown): { type: string; value: string }[] {
  if (typeof element !== 'object' || element === null) return [];
  return Object.entries(element).flatMap(([type, values]) => (Array.isArray(values) ? values : [values])
    .filter((value): value is string => typeof value === 'string')
    .map((value) => ({ type, value })));
}

/** Stored policies are validated once; the engine wants them named. */
function validatedResourcePolicy(document: string): unknown {
  let validated = validatedResourcePolicies.get(document);
  if (!validated) {
    if (validatedResourcePolicies.size >= MAX_CACHED_POLICIES) validatedResourcePolicies.clear();
    validated = createValidatedPolicy(JSON.parse(document), validateResourcePolicy, { name: 'resource policy' });
    validatedResourcePolicies.set(document, validated);
  }
  return validated;
}

/**
 * Global condition keys every request carries. aws:SecureTransport is true although the endpoint speaks
 * plain HTTP on loopback, so policies written for production (deny when false) evaluate as they will there.
 */
function globalContext(request: AuthorizationRequest): ContextValues {
  const principal: ContextValues = request.principalArn === undefined
    ? { 'aws:PrincipalServiceName': request.principal }
    : {
      'aws:PrincipalArn': request.principalArn,
      'aws:PrincipalAccount': ACCOUNT_ID,
      'aws:PrincipalType': request.principalArn.endsWith(':root') ? 'Account' : 'AssumedRole',
    };
  return {
    'aws:SecureTransport': 'true',
    ...principal,
    'aws:RequestedRegion': request.region,
    'aws:CurrentTime': new Date().toISOString(),
  };
}

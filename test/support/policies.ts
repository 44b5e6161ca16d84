/**
 * The policy documents of a synthesized environment made concrete (Terraform references replaced by fixed
 * ARNs) and an IAM simulator over them, so tests can ask "may this principal do this?" of what deploys:
 * identity policies together with the key policy, the bucket policy or the role's trust policy.
 */
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { Synthesized } from './synth.ts';

export const ACCOUNT = '111122223333';
export const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

export type Document = { Version: string; Statement: unknown[] };

/**
 * A policy document with its Terraform references filled in: the key's ARN (and the account read off it),
 * and the ARNs of the stack's roles by their logical ids.
 */
export function concrete(policy: unknown, keyArn = KEY_ARN, roleArns: Record<string, string> = {}): Document {
  const text = String(policy)
    .replace(/\$\{element\(split\(":", aws_kms_key\.\w+\.arn\), 4\)\}/g, ACCOUNT)
    .replace(/\$\{aws_kms_key\.\w+\.arn\}/g, keyArn)
    .replace(/\$\{aws_iam_role\.([\w-]+)\.arn\}/g, (reference, id: string) => roleArns[id] ?? reference);
  if (text.includes('${')) throw new Error(`unresolved Terraform reference in policy: ${text}`);
  return JSON.parse(text) as Document;
}

export interface EnvironmentPolicies {
  readonly keyPolicy: Document;
  readonly bucketPolicy: Document;
  /** Identity policies by principal: task-<service>, deployer, ci-plan, developer-encrypt. */
  readonly principals: Record<string, Document[]>;
  /** Trust policies by role ARN. */
  readonly trust: Record<string, Document>;
}

export const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

export function environmentPolicies({ config }: Synthesized, env = 'staging'): EnvironmentPolicies {
  const roles = Object.entries(config.resource.aws_iam_role ?? {});
  const roleArns = Object.fromEntries(roles.map(([id, role]) => [id, roleArn(String(role.name))]));
  const only = (type: string) => concrete(Object.values(config.resource[type]!)[0]!.policy, KEY_ARN, roleArns);
  const principals: Record<string, Document[]> = {};
  const trust: Record<string, Document> = {};
  const managed = config.resource.aws_iam_policy ?? {};
  for (const [logicalId, role] of roles) {
    const ofRole = (p: Record<string, unknown>) => p.role === `\${aws_iam_role.${logicalId}.name}`;
    const inline = Object.values(config.resource.aws_iam_role_policy ?? {}).filter(ofRole).map((p) => p.policy);
    // An attachment names the policy by its reference: ${aws_iam_policy.<logical id>.arn}.
    const attached = Object.values(config.resource.aws_iam_role_policy_attachment ?? {}).filter(ofRole)
      .map((a) => managed[/^\$\{aws_iam_policy\.([^.]+)\.arn\}$/.exec(String(a.policy_arn))![1]!]!.policy);
    principals[String(role.name).replace(`kms-secrets-${env}.`, '')] = [...inline, ...attached].map((p) => concrete(p));
    trust[roleArns[logicalId]!] = concrete(role.assume_role_policy);
  }
  for (const policy of Object.values(config.resource.aws_iam_policy ?? {})) {
    principals[String(policy.name).replace(`kms-secrets-${env}.`, '')] = [concrete(policy.policy)];
  }
  return { keyPolicy: only('aws_kms_key_policy'), bucketPolicy: only('aws_s3_bucket_policy'), principals, trust };
}

/** A principal the stack does not create: a role elsewhere in the account, or a service such as ECS. */
export interface Outsider {
  readonly arn: string;
  readonly policies: readonly Document[];
}

/** A role of the account outside the stack, with one identity policy of `statements`. */
export function outsider(name: string, statements: object[]): Outsider {
  return { arn: roleArn(name), policies: [{ Version: '2012-10-17', Statement: statements }] };
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/**
 * What AWS would decide for `principal` (a principal of the stack by name, `ecs-tasks.amazonaws.com`, or an
 * outsider) doing `action` on `resource`, with the resource's own policy applied.
 */
export async function decide(
  policies: EnvironmentPolicies,
  principal: string | Outsider,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
  env = 'staging',
): Promise<Decision> {
  const service = typeof principal === 'string' && principal.endsWith('.amazonaws.com');
  const arn = typeof principal !== 'string' ? principal.arn : service ? principal : roleArn(`kms-secrets-${env}.${principal}`);
  const identityPolicies = typeof principal !== 'string' ? principal.policies : service ? [] : policies.principals[principal];
  if (!identityPolicies) throw new Error(`no principal ${String(principal)}; known: ${Object.keys(policies.principals).join(', ')}`);
  // A bucket policy speaks only for its own bucket (its NotResource statements would match any other).
  const resourcePolicy = action === 'sts:AssumeRole' ? policies.trust[resource]
    : action.startsWith('kms:') ? policies.keyPolicy
      : resource.startsWith(`arn:aws:s3:::kms-secrets-${env}-secrets`) ? policies.bucketPolicy : undefined;
  const simulation = {
    identityPolicies: identityPolicies.map((policy, i) => ({ name: `policy-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
    request: {
      action,
      principal: arn,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: { 'aws:SecureTransport': 'true', ...(service ? {} : { 'aws:PrincipalArn': arn }), ...context },
    },
  } as Parameters<typeof runSimulation>[0];
  // The validated engine checks the policies, action and resource ARN…
  const validated = await runSimulation(simulation, {});
  if (validated.resultType === 'error') throw new Error(`simulation error: ${JSON.stringify(validated.errors)}`);
  // …but drops kms:EncryptionContext:<key> context keys (it only knows "/"-style variable keys), so the
  // decision comes from its unvalidated engine, which takes the context exactly as given. That engine
  // needs the resource policy pre-validated with a name (iam-policy's ValidatedPolicy shape).
  const named = resourcePolicy && { __validated: true, policyDocument: resourcePolicy, metadata: { name: 'resource-policy' } };
  return runUnsafeSimulation({ ...simulation, resourcePolicy: named }, {}) as Decision;
}

/** Encryption context keys as the request carries them. */
export function contextOf(context: Record<string, string>): Record<string, string | string[]> {
  const keys = Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));
  return { ...keys, 'kms:EncryptionContextKeys': Object.keys(context) };
}

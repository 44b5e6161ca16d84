/**
 * The policy documents of a synthesized environment made concrete (Terraform references replaced by fixed
 * ARNs) and an IAM simulator over them, so tests can ask "may this principal do this?" of what deploys.
 */
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { Synthesized } from './synth.ts';

export const ACCOUNT = '111122223333';
export const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

type Document = { Version: string; Statement: unknown[] };

function concrete(policy: unknown): Document {
  const text = String(policy)
    .replace(/\$\{element\(split\(":", aws_kms_key\.\w+\.arn\), 4\)\}/g, ACCOUNT)
    .replace(/\$\{aws_kms_key\.\w+\.arn\}/g, KEY_ARN);
  if (text.includes('${')) throw new Error(`unresolved Terraform reference in policy: ${text}`);
  return JSON.parse(text) as Document;
}

export interface EnvironmentPolicies {
  readonly keyPolicy: Document;
  readonly bucketPolicy: Document;
  /** Identity policies by principal: task-<service>, deployer, ci-plan, developer-encrypt. */
  readonly principals: Record<string, Document[]>;
}

export function environmentPolicies({ config }: Synthesized, env = 'staging'): EnvironmentPolicies {
  const only = (type: string) => concrete(Object.values(config.resource[type]!)[0]!.policy);
  const principals: Record<string, Document[]> = {};
  for (const [logicalId, role] of Object.entries(config.resource.aws_iam_role ?? {})) {
    const inline = Object.values(config.resource.aws_iam_role_policy ?? {}).filter((p) => p.role === `\${aws_iam_role.${logicalId}.name}`);
    principals[String(role.name).replace(`kms-secrets-${env}-`, '')] = inline.map((p) => concrete(p.policy));
  }
  for (const policy of Object.values(config.resource.aws_iam_policy ?? {})) {
    principals[String(policy.name).replace(`kms-secrets-${env}-`, '')] = [concrete(policy.policy)];
  }
  return { keyPolicy: only('aws_kms_key_policy'), bucketPolicy: only('aws_s3_bucket_policy'), principals };
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** What AWS would decide for `principal` doing `action` on `resource`, with the key or bucket policy applied. */
export async function decide(
  policies: EnvironmentPolicies,
  principal: string,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
): Promise<Decision> {
  const identityPolicies = policies.principals[principal];
  if (!identityPolicies) throw new Error(`no principal ${principal}; known: ${Object.keys(policies.principals).join(', ')}`);
  const resourcePolicy = action.startsWith('kms:') ? policies.keyPolicy : resource.startsWith('arn:aws:s3:::') ? policies.bucketPolicy : undefined;
  const simulation = {
    identityPolicies: identityPolicies.map((policy, i) => ({ name: `${principal}-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
    request: {
      action,
      principal: `arn:aws:iam::${ACCOUNT}:role/kms-secrets-staging-${principal}`,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: { 'aws:SecureTransport': 'true', ...context },
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

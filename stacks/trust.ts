/** Trust policies: who may assume a role. */
import type { RoleTrust } from '../lib/settings.ts';
import { policyDocument, type PolicyDocument, type PolicyStatement } from './policy.ts';

/** ECS tasks (and any extra principals from the settings) may assume a service's task role. */
export function ecsTaskTrust(extraPrincipals: readonly string[]): PolicyDocument {
  return policyDocument([
    { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ...awsPrincipalTrust(extraPrincipals),
  ]);
}

/** An operator role's trust from the settings: IAM principals and/or an OIDC provider with subject conditions. */
export function operatorTrust(trust: RoleTrust): PolicyDocument {
  const statements = awsPrincipalTrust(trust.awsPrincipals);
  if (trust.oidc) {
    const host = trust.oidc.providerArn.replace(/^.*:oidc-provider\//, '');
    statements.push({
      Effect: 'Allow',
      Principal: { Federated: trust.oidc.providerArn },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { [`${host}:aud`]: trust.oidc.audience },
        StringLike: { [`${host}:sub`]: [...trust.oidc.subjects] },
      },
    });
  }
  return policyDocument(statements);
}

function awsPrincipalTrust(principals: readonly string[]): PolicyStatement[] {
  return principals.length === 0 ? [] : [{ Effect: 'Allow', Principal: { AWS: [...principals] }, Action: 'sts:AssumeRole' }];
}

/** Trust policies: who may assume a role. */
import type { RoleTrust } from '../lib/settings.ts';
import { policyDocument, type PolicyDocument, type PolicyStatement } from './policy.ts';

export interface EcsTaskTrustProps {
  /** The env's account: ECS assumes the role only for tasks of this account (the confused-deputy guard). */
  readonly account: string;
  /** When set, only for tasks of this cluster. */
  readonly ecsClusterArn?: string;
  /** Principals trusted besides ECS, e.g. for local debugging. */
  readonly extraPrincipals: readonly string[];
}

/** ECS tasks of the env's account (and cluster), and any extra principals from the settings, may assume a task role. */
export function ecsTaskTrust(props: EcsTaskTrustProps): PolicyDocument {
  return policyDocument([
    {
      Effect: 'Allow',
      Principal: { Service: 'ecs-tasks.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'aws:SourceAccount': props.account },
        ...(props.ecsClusterArn ? { ArnLike: { 'aws:SourceArn': clusterSourceArns(props.ecsClusterArn) } } : {}),
      },
    },
    ...awsPrincipalTrust(props.extraPrincipals),
  ]);
}

/** The cluster, and every task in it: ECS names the task (or its cluster) as the source of the request. */
function clusterSourceArns(clusterArn: string): string[] {
  const [prefix, name] = clusterArn.split(':cluster/') as [string, string];
  return [clusterArn, `${prefix}:task/${name}/*`];
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

import { describe, expect, it } from 'vitest';
import { synthEnvironment } from '../support/synth.ts';

const OIDC = 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com';

describe('OperatorAccess: deployer, ci-plan and developer-encrypt', () => {
  it('always creates the three managed policies, and no role without a trust', () => {
    const { config } = synthEnvironment();
    expect(Object.values(config.resource.aws_iam_policy!).map((p) => p.name).sort())
      .toEqual(['kms-secrets-staging.ci-plan', 'kms-secrets-staging.deployer', 'kms-secrets-staging.developer-encrypt']);
    expect(config.resource.aws_iam_role).toBeUndefined();
  });

  it('creates a role with the policy attached where the settings say who assumes it', () => {
    const { config } = synthEnvironment({ settings: { defaults: { roles: {
      ciPlan: { oidc: { providerArn: OIDC, subjects: ['repo:acme/app:pull_request'] } },
      deployer: { awsPrincipals: ['arn:aws:iam::111122223333:role/platform'] },
    } } } });
    const roles = Object.values(config.resource.aws_iam_role!);
    expect(roles.map((r) => r.name).sort()).toEqual(['kms-secrets-staging.ci-plan', 'kms-secrets-staging.deployer']);
    const ci = roles.find((r) => r.name === 'kms-secrets-staging.ci-plan')!;
    expect(JSON.parse(String(ci.assume_role_policy)).Statement).toEqual([{
      Effect: 'Allow',
      Principal: { Federated: OIDC },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
        StringLike: { 'token.actions.githubusercontent.com:sub': ['repo:acme/app:pull_request'] },
      },
    }]);
    expect(Object.keys(config.resource.aws_iam_role_policy_attachment!)).toHaveLength(2);
    expect(Object.keys(config.output)).toEqual(expect.arrayContaining(['ci_plan_role_arn', 'deployer_role_arn']));
  });
});

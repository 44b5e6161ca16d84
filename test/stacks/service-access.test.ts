import { describe, expect, it } from 'vitest';
import { secretFile, synthEnvironment, type TerraformConfig } from '../support/synth.ts';

const attachments = (config: TerraformConfig) => Object.values(config.resource.aws_iam_role_policy_attachment ?? {});
const readPolicies = (config: TerraformConfig) => Object.entries(config.resource.aws_iam_policy ?? {}).filter(([, p]) => String(p.name).includes('.read-'));
/** The key policy's statements that let a principal decrypt one service's ciphertext (Terraform references as REF). */
const decrypters = (config: TerraformConfig) => (JSON.parse(String(Object.values(config.resource.aws_kms_key_policy!)[0]!.policy).replace(/\$\{[^}]+\}/g, 'REF')).Statement as { Sid: string; Principal: { AWS: string }; Condition: { StringEquals: Record<string, string> } }[])
  .filter((statement) => /^TaskRole\d+DecryptsOwnService$/.test(statement.Sid))
  .map((statement) => [statement.Principal.AWS, statement.Condition.StringEquals['kms:EncryptionContext:service']]);

describe('ServiceAccess: one ECS task role per service', () => {
  const { config } = synthEnvironment({
    files: [secretFile('staging', 'api', 'db-password'), secretFile('staging', 'api', 'token'), secretFile('staging', 'web', 'key')],
    settings: { defaults: { taskRoleTrustedPrincipals: ['arn:aws:iam::111122223333:role/local-debug'] } },
  });
  const roles = Object.values(config.resource.aws_iam_role ?? {}).filter((r) => String(r.name).includes('.task-'));
  const trustOf = (role: Record<string, unknown>) => JSON.parse(String(role.assume_role_policy).replace(/\$\{[^}]+\}/g, 'ACCOUNT')).Statement;

  it('creates one role per service directory, named kms-secrets-<env>.task-<service>', () => {
    expect(roles.map((r) => r.name).sort()).toEqual(['kms-secrets-staging.task-api', 'kms-secrets-staging.task-web']);
  });

  it('is trusted by ECS for tasks of the env\'s own account only, and by the extra principals from the settings', () => {
    expect(trustOf(roles[0]!)).toEqual([
      { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': 'ACCOUNT' } } },
      { Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::111122223333:role/local-debug'] }, Action: 'sts:AssumeRole' },
    ]);
  });

  it('is trusted for tasks of the configured ECS cluster only, when one is set', () => {
    const cluster = 'arn:aws:ecs:us-east-1:111122223333:cluster/production';
    const scoped = synthEnvironment({ files: [secretFile('staging', 'api', 'token')], settings: { defaults: { ecsClusterArn: cluster } } }).config;
    const [ecs] = trustOf(Object.values(scoped.resource.aws_iam_role!)[0]!);
    expect(ecs.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': 'ACCOUNT' },
      ArnLike: { 'aws:SourceArn': [cluster, 'arn:aws:ecs:us-east-1:111122223333:task/production/*'] },
    });
  });

  it('reads through a managed policy per service, kms-secrets-<env>.read-<service>, attached to the task role', () => {
    expect(readPolicies(config).map(([, p]) => p.name).sort()).toEqual(['kms-secrets-staging.read-api', 'kms-secrets-staging.read-web']);
    const [apiPolicyId] = readPolicies(config).find(([, p]) => p.name === 'kms-secrets-staging.read-api')!;
    const apiRoleId = Object.entries(config.resource.aws_iam_role!).find(([, r]) => r.name === 'kms-secrets-staging.task-api')![0];
    expect(attachments(config)).toContainEqual(expect.objectContaining({ role: `\${aws_iam_role.${apiRoleId}.name}`, policy_arn: `\${aws_iam_policy.${apiPolicyId}.arn}` }));
    expect(config.resource.aws_iam_role_policy, 'no inline policy: the managed one is what any role may attach').toBeUndefined();
  });

  it('outputs the role ARN, the read policy\'s ARN and the non-secret environment a task definition needs', () => {
    expect(config.output.service_api!.value).toEqual({
      role_arn: expect.stringMatching(/^\$\{aws_iam_role\.[\w-]+\.arn\}$/),
      policy_arn: expect.stringMatching(/^\$\{aws_iam_policy\.[\w-]+\.arn\}$/),
      environment: { SECRETS_BUCKET: 'kms-secrets-staging-secrets', SECRETS_ENV: 'staging', SECRETS_SERVICES: 'api' },
    });
  });

  it('tells the runtime which loader variables the settings allow, through that environment', () => {
    const allowing = synthEnvironment({ files: [secretFile('staging', 'api', 'java-tool-options')], settings: { defaults: { allowLoaderVariables: ['JAVA_TOOL_OPTIONS'] } } }).config;
    expect((allowing.output.service_api!.value as { environment: object }).environment).toMatchObject({ SECRETS_ALLOW_LOADER_VARIABLES: 'JAVA_TOOL_OPTIONS' });
  });

  it('refuses names that make an IAM role name longer than 64 characters', () => {
    expect(() => synthEnvironment({ env: 'e'.repeat(30), files: [secretFile('e'.repeat(30), 's'.repeat(30), 'x')] }))
      .toThrow(/IAM name kms-secrets-e+\.read-s+ is longer than 64 characters/);
  });
});

describe('bring your own task role: services.<service>.taskRole', () => {
  const files = [secretFile('staging', 'api', 'db-password'), secretFile('staging', 'web', 'key')];
  const withRoles = (services: object, extra: object = {}) => synthEnvironment({ files, settings: { environments: { staging: { services, ...extra } } } }).config;

  it('by name: the read policy is attached to that role, the key policy names it for its service only, and no task role is created for the service', () => {
    const config = withRoles({ api: { taskRole: 'app-api' } });
    expect(Object.values(config.resource.aws_iam_role!).map((r) => r.name)).not.toContain('kms-secrets-staging.task-api');
    expect(Object.values(config.resource.aws_iam_role!).map((r) => r.name)).toContain('kms-secrets-staging.task-web');
    expect(attachments(config)).toContainEqual(expect.objectContaining({ role: 'app-api' }));
    expect(decrypters(config)).toContainEqual(['arn:aws:iam::REF:role/app-api', 'api']);
    expect(decrypters(config).filter(([principal]) => principal!.endsWith('/app-api'))).toHaveLength(1);
    expect((config.output.service_api!.value as { role_arn: string }).role_arn).toMatch(/:role\/app-api$/);
  });

  it('by ARN, with a path, of an account allowedAccountIds holds: attached by its name, named in the key policy by the ARN as given', () => {
    const arn = 'arn:aws:iam::111122223333:role/apps/payments/app-api';
    const config = withRoles({ api: { taskRole: arn } }, { allowedAccountIds: ['111122223333'] });
    expect(attachments(config)).toContainEqual(expect.objectContaining({ role: 'app-api' }));
    expect(decrypters(config)).toContainEqual([arn, 'api']);
  });

  it.each([
    ['a malformed ARN', { api: { taskRole: 'arn:aws:iam::1234:role/app-api' } }, {}, /services\.api\.taskRole "arn:aws:iam::1234:role\/app-api" is neither an IAM role name nor a role ARN such as arn:aws:iam::111122223333:role\/api-task/],
    ['a user, not a role', { api: { taskRole: 'arn:aws:iam::111122223333:user/alice' } }, {}, /is neither an IAM role name nor a role ARN/],
    ['one of the stack\'s own operator roles', { api: { taskRole: 'kms-secrets-staging.deployer' } }, {}, /is one of the stack's own role names/],
    ['a role of an account the env does not allow', { api: { taskRole: 'arn:aws:iam::999999999999:role/app-api' } }, { allowedAccountIds: ['111122223333'] }, /in account 999999999999, which allowedAccountIds \(111122223333\) does not hold/],
    ['a role of another partition', { api: { taskRole: 'arn:aws-cn:iam::111122223333:role/app-api' } }, {}, /is in partition aws-cn, but region us-east-1 is in aws/],
    ['a service with no secrets (a typo)', { apii: { taskRole: 'app-api' } }, {}, /name service apii, which has no secrets in secrets\/staging\//],
    ['an unknown setting', { api: { role: 'app-api' } }, {}, /services\.api: unknown setting "role"; allowed: taskRole/],
  ])('refuses %s at synth, saying which setting', (_what, services, extra, message) => {
    expect(() => withRoles(services, extra)).toThrow(message);
  });

  it('refuses services in defaults: a role is one env\'s', () => {
    expect(() => synthEnvironment({ files, settings: { defaults: { services: { api: { taskRole: 'app-api' } } } } }))
      .toThrow(/defaults: "services" belongs to an env/);
  });
});

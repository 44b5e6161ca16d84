import { describe, expect, it } from 'vitest';
import { secretFile, synthEnvironment } from '../support/synth.ts';

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

  it('outputs the role ARN and the non-secret environment a task definition needs', () => {
    expect(config.output.service_api!.value).toEqual({
      role_arn: expect.stringMatching(/^\$\{aws_iam_role\.[\w-]+\.arn\}$/),
      environment: { SECRETS_BUCKET: 'kms-secrets-staging-secrets', SECRETS_ENV: 'staging', SECRETS_SERVICES: 'api' },
    });
  });

  it('tells the runtime which loader variables the settings allow, through that environment', () => {
    const allowing = synthEnvironment({ files: [secretFile('staging', 'api', 'java-tool-options')], settings: { defaults: { allowLoaderVariables: ['JAVA_TOOL_OPTIONS'] } } }).config;
    expect((allowing.output.service_api!.value as { environment: object }).environment).toMatchObject({ SECRETS_ALLOW_LOADER_VARIABLES: 'JAVA_TOOL_OPTIONS' });
  });

  it('refuses names that make an IAM role name longer than 64 characters', () => {
    expect(() => synthEnvironment({ env: 'e'.repeat(30), files: [secretFile('e'.repeat(30), 's'.repeat(30), 'x')] }))
      .toThrow(/IAM name kms-secrets-e+\.task-s+ is longer than 64 characters/);
  });
});

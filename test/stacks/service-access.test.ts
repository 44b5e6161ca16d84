import { describe, expect, it } from 'vitest';
import { secretFile, synthEnvironment } from '../support/synth.ts';

describe('ServiceAccess: one ECS task role per service', () => {
  const { config } = synthEnvironment({
    files: [secretFile('staging', 'api', 'db-password'), secretFile('staging', 'api', 'token'), secretFile('staging', 'web', 'key')],
    settings: { defaults: { taskRoleTrustedPrincipals: ['arn:aws:iam::111122223333:role/local-debug'] } },
  });
  const roles = Object.values(config.resource.aws_iam_role ?? {}).filter((r) => String(r.name).includes('-task-'));

  it('creates one role per service directory, named kms-secrets-<env>-task-<service>', () => {
    expect(roles.map((r) => r.name).sort()).toEqual(['kms-secrets-staging-task-api', 'kms-secrets-staging-task-web']);
  });

  it('is trusted by ecs-tasks.amazonaws.com and the extra principals from the settings', () => {
    expect(JSON.parse(String(roles[0]!.assume_role_policy)).Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
      { Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::111122223333:role/local-debug'] }, Action: 'sts:AssumeRole' },
    ]);
  });

  it('outputs the role ARN and the non-secret environment a task definition needs', () => {
    expect(config.output.service_api!.value).toEqual({
      role_arn: expect.stringMatching(/^\$\{aws_iam_role\.[\w-]+\.arn\}$/),
      environment: { SECRETS_BUCKET: 'kms-secrets-staging-secrets', SECRETS_ENV: 'staging', SECRETS_SERVICES: 'api' },
    });
  });

  it('refuses names that make an IAM role name longer than 64 characters', () => {
    expect(() => synthEnvironment({ env: 'e'.repeat(30), files: [secretFile('e'.repeat(30), 's'.repeat(30), 'x')] }))
      .toThrow(/IAM name kms-secrets-e+-task-s+ is longer than 64 characters/);
  });
});

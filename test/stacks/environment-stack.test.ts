import { describe, expect, it } from 'vitest';
import { synthEnvironment } from '../support/synth.ts';

describe('EnvironmentStack', () => {
  const { config } = synthEnvironment({ settings: { environments: { staging: { allowedAccountIds: ['123456789012'], region: 'eu-west-1' } } } });

  it('declares a variable env that defaults to its own env and rejects any other, naming both', () => {
    const variable = config.variable.env!;
    expect(variable.default).toBe('staging');
    expect(variable.validation).toEqual([{
      condition: '${var.env == "staging"}',
      error_message: expect.stringMatching(/This is the "staging" stack, but env is "\$\{var\.env\}"/),
    }]);
  });

  it('keeps its own local state, by absolute path', () => {
    expect(config.terraform.backend).toEqual({ local: { path: '/repo/state/staging.tfstate' } });
  });

  it('can keep its state in S3 with S3-native locking, one key per env', () => {
    const s3 = synthEnvironment({ settings: { defaults: { backend: { type: 's3', bucket: 'acme-tfstate', keyPrefix: 'secrets/' } } } }).config;
    expect(s3.terraform.backend).toEqual({
      s3: { bucket: 'acme-tfstate', key: 'secrets/staging.tfstate', region: 'us-east-1', encrypt: true, use_lockfile: true },
    });
  });

  it('pins the provider to the region and the allowed accounts', () => {
    expect(config.provider.aws[0]).toMatchObject({ region: 'eu-west-1', allowed_account_ids: ['123456789012'] });
  });

  it('can plan with no credentials when offline_plan is set', () => {
    expect(config.variable.offline_plan).toMatchObject({ type: 'bool', default: false });
    expect(config.provider.aws[0]).toMatchObject({
      access_key: '${var.offline_plan ? "offline-plan" : null}',
      skip_credentials_validation: '${var.offline_plan}',
      skip_requesting_account_id: '${var.offline_plan}',
    });
  });

  it('outputs the bucket name, key ARN, alias and the operators\' policy ARNs', () => {
    expect(Object.keys(config.output).sort()).toEqual(['bucket_name', 'ci_plan_policy_arn', 'deployer_policy_arn', 'developer_policy_arn', 'key_alias', 'key_arn']);
  });

  it('points a local env at the local endpoint, path-style', () => {
    const local = synthEnvironment({ env: 'demo', settings: { environments: { demo: { local: true } } }, localEndpoint: 'http://127.0.0.1:4599' });
    expect(local.config.provider.aws[0]).toMatchObject({
      endpoints: [{ kms: 'http://127.0.0.1:4599', s3: 'http://127.0.0.1:4599', iam: 'http://127.0.0.1:4599', sts: 'http://127.0.0.1:4599' }],
      s3_use_path_style: true,
    });
  });

  it('refuses a local env when no endpoint is known, saying how to start one', () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL;
    try {
      expect(() => synthEnvironment({ env: 'demo', settings: { environments: { demo: { local: true } } } }))
        .toThrow(/env "demo" is marked local, but no local endpoint is known/);
    } finally {
      if (saved !== undefined) process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});

import { describe, expect, it } from 'vitest';
import { onlyResource, synthEnvironment } from '../support/synth.ts';

describe('SecretsKey', () => {
  const { config } = synthEnvironment();

  it('is a KMS key with automatic rotation on', () => {
    expect(onlyResource(config, 'aws_kms_key')).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
  });

  it('has the alias alias/kms-secrets/<env> pointing at it', () => {
    expect(onlyResource(config, 'aws_kms_alias')).toMatchObject({
      name: 'alias/kms-secrets/staging',
      target_key_id: expect.stringMatching(/^\$\{aws_kms_key\.\w+\.key_id\}$/),
    });
  });

  it('takes its alias from the settings', () => {
    const custom = synthEnvironment({ settings: { defaults: { keyAlias: 'alias/acme/secrets-staging' } } }).config;
    expect(onlyResource(custom, 'aws_kms_alias').name).toBe('alias/acme/secrets-staging');
  });
});

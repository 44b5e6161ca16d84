import { describe, expect, it } from 'vitest';
import { onlyResource, secretFile, synthEnvironment } from '../support/synth.ts';

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

describe('SecretsKey: the key policy', () => {
  const keyPolicy = (settings: object = {}) => {
    const { config } = synthEnvironment({ files: [secretFile('staging', 'api', 'token'), secretFile('staging', 'web', 'token')], settings: { defaults: settings } });
    const policy = String(onlyResource(config, 'aws_kms_key_policy').policy).replace(/\$\{aws_iam_role\.service-(\w+)_role_\w+\.arn\}/g, 'ROLE-$1');
    return JSON.parse(policy.replace(/\$\{[^}]+\}/g, 'X')).Statement as { Sid: string; Effect: string; Action: string | string[]; Principal: unknown; Condition?: object }[];
  };

  it('lets the account administer the key through IAM, but delegates no cryptographic use except encrypting for this env', () => {
    const [administer, encrypt] = keyPolicy();
    expect(administer).toMatchObject({ Sid: 'AccountAdministersTheKeyThroughIam', Principal: { AWS: 'arn:aws:iam::X:root' } });
    expect(administer!.Action).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:DescribeKey']));
    expect(administer!.Action).not.toEqual(expect.arrayContaining(['kms:Decrypt']));
    expect(administer!.Action).not.toContain('kms:CreateGrant');
    expect(encrypt).toMatchObject({ Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Condition: { StringEquals: { 'kms:EncryptionContext:env': 'staging' } } });
  });

  it('names each task role with its own service\'s encryption context, and denies plaintext to everyone else', () => {
    const statements = keyPolicy();
    expect(statements.filter((s) => s.Action === 'kms:Decrypt')).toEqual([
      expect.objectContaining({ Principal: { AWS: 'ROLE-api' }, Condition: { StringEquals: { 'kms:EncryptionContext:service': 'api', 'kms:EncryptionContext:env': 'staging' } } }),
      expect.objectContaining({ Principal: { AWS: 'ROLE-web' }, Condition: { StringEquals: { 'kms:EncryptionContext:service': 'web', 'kms:EncryptionContext:env': 'staging' } } }),
    ]);
    expect(statements.find((s) => s.Sid === 'NobodyElseReadsPlaintext')).toMatchObject({
      Effect: 'Deny', Principal: '*', Action: ['kms:Decrypt', 'kms:ReEncryptFrom'], Condition: { ArnNotEquals: { 'aws:PrincipalArn': ['ROLE-api', 'ROLE-web'] } },
    });
  });

  it('lets key administrators administer but never use the key, and break-glass principals read this env only', () => {
    const statements = keyPolicy({ keyAdministrators: ['arn:aws:iam::111122223333:role/kms-admin'], breakGlassPrincipals: ['arn:aws:iam::111122223333:role/break-glass'] });
    const administrators = statements.find((s) => s.Sid === 'KeyAdministrators')!;
    expect(administrators.Action).not.toEqual(expect.arrayContaining(['kms:Decrypt']));
    expect(statements.find((s) => s.Sid === 'BreakGlassReadsEverySecretOfThisEnv')).toMatchObject({
      Principal: { AWS: ['arn:aws:iam::111122223333:role/break-glass'] }, Condition: { StringEquals: { 'kms:EncryptionContext:env': 'staging' } },
    });
    expect(statements.find((s) => s.Sid === 'NobodyElseReadsPlaintext')!.Condition)
      .toEqual({ ArnNotEquals: { 'aws:PrincipalArn': ['ROLE-api', 'ROLE-web', 'arn:aws:iam::111122223333:role/break-glass'] } });
  });

  it('denies decrypting and encrypting without an encryption context', () => {
    expect(keyPolicy().at(-1)).toMatchObject({ Sid: 'DenyCryptoWithoutEncryptionContext', Effect: 'Deny', Condition: { Null: { 'kms:EncryptionContextKeys': 'true' } } });
  });

  it('denies plaintext to everyone while no service exists', () => {
    const { config } = synthEnvironment();
    const statements = JSON.parse(String(onlyResource(config, 'aws_kms_key_policy').policy).replace(/\$\{[^}]+\}/g, 'X')).Statement;
    expect(statements.find((s: { Sid: string }) => s.Sid === 'NobodyElseReadsPlaintext').Condition).toBeUndefined();
  });
});

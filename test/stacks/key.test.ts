import { describe, expect, it } from 'vitest';
import { KEY_ADMINISTRATOR, onlyResource, secretFile, synthEnvironment } from '../support/synth.ts';

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

  it('lets only the named administrators and the root user administer the key; IAM decides who reads it and who encrypts for this env', () => {
    const [root, administrators, read, encrypt] = keyPolicy();
    expect(root).toMatchObject({ Sid: 'RootUserRecoversTheKey', Principal: { AWS: 'arn:aws:iam::X:root' }, Condition: { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::X:root' } } });
    expect(administrators).toMatchObject({ Sid: 'KeyAdministrators', Principal: { AWS: [KEY_ADMINISTRATOR] } });
    for (const statement of [root!, administrators!]) {
      expect(statement.Action).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:UpdateAlias', 'kms:ScheduleKeyDeletion', 'kms:DisableKeyRotation']));
      expect(statement.Action).not.toEqual(expect.arrayContaining(['kms:Decrypt']));
      expect(statement.Action).not.toContain('kms:CreateGrant');
    }
    expect(read).toMatchObject({ Sid: 'AccountReadsTheKeyThroughIam', Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags'] });
    expect(read).not.toHaveProperty('Condition');
    expect(encrypt).toMatchObject({ Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Condition: { StringEquals: { 'kms:EncryptionContext:env': 'staging' } } });
  });

  it('denies administering the key and granting it to everyone but the administrators and the root user, whatever IAM says', () => {
    expect(keyPolicy().find((s) => s.Sid === 'NobodyElseAdministers')).toMatchObject({
      Effect: 'Deny', Principal: '*', Action: expect.arrayContaining(['kms:PutKeyPolicy', 'kms:CreateAlias', 'kms:UpdateAlias', 'kms:CreateGrant']),
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': ['arn:aws:iam::X:root', KEY_ADMINISTRATOR] } },
    });
  });

  it('is created with the administrators\' statement as its first policy, so KMS refuses to create it for anyone else', () => {
    const { config } = synthEnvironment();
    const key = onlyResource(config, 'aws_kms_key');
    expect(JSON.parse(String(key.policy)).Statement).toEqual([expect.objectContaining({ Sid: 'KeyAdministrators', Principal: { AWS: [KEY_ADMINISTRATOR] } })]);
    expect(key.lifecycle).toEqual({ ignore_changes: ['policy'] });
  });

  it('is refused for an env on AWS that names no administrator', () => {
    expect(() => synthEnvironment({ settings: { defaults: { keyAdministrators: [] } } })).toThrow(/env staging names no keyAdministrators/);
    expect(() => synthEnvironment({ settings: { defaults: { keyAdministrators: [], local: true } }, localEndpoint: 'http://127.0.0.1:1' })).not.toThrow();
  });

  it('names each task role with its own service\'s encryption context, and denies plaintext to everyone else', () => {
    const statements = keyPolicy();
    expect(statements.filter((s) => s.Action === 'kms:Decrypt')).toEqual([
      expect.objectContaining({ Principal: { AWS: 'ROLE-api' }, Condition: { StringEquals: { 'kms:EncryptionContext:service': 'api', 'kms:EncryptionContext:env': 'staging', 'kms:EncryptionContext:secret': ['token'] } } }),
      expect.objectContaining({ Principal: { AWS: 'ROLE-web' }, Condition: { StringEquals: { 'kms:EncryptionContext:service': 'web', 'kms:EncryptionContext:env': 'staging', 'kms:EncryptionContext:secret': ['token'] } } }),
    ]);
    expect(statements.find((s) => s.Sid === 'NobodyElseReadsPlaintext')).toMatchObject({
      Effect: 'Deny', Principal: '*', Action: ['kms:Decrypt', 'kms:ReEncryptFrom'], Condition: { ArnNotEquals: { 'aws:PrincipalArn': ['ROLE-api', 'ROLE-web'] } },
    });
  });

  it('lets key administrators administer but never use the key, and break-glass principals read this env only', () => {
    const statements = keyPolicy({ breakGlassPrincipals: ['arn:aws:iam::111122223333:role/break-glass'] });
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

describe('SecretsKey: only declared names decrypt, within KMS\'s 32 KB for a key policy', () => {
  const names = (count: number, length: number) => Array.from({ length: count }, (_, i) => `s${String(i).padStart(length - 1, '0')}`);
  const files = (count: number, length: number) => names(count, length).map((name) => secretFile('staging', 'api', name));

  it('names each of 500 secrets of one service (32 characters each) and stays under the limit', () => {
    const { config } = synthEnvironment({ files: files(500, 32) });
    const policy = String(onlyResource(config, 'aws_kms_key_policy').policy);
    const statement = JSON.parse(policy.replace(/\$\{[^}]+\}/g, 'X')).Statement.find((s: { Sid: string }) => s.Sid === 'TaskRole1DecryptsOwnService');
    expect(statement.Condition.StringEquals['kms:EncryptionContext:secret']).toHaveLength(500);
    expect(Buffer.byteLength(policy)).toBeLessThan(32_768);
  });

  it('refuses at synth a tree whose names would not fit, saying how big the policy would be', () => {
    expect(() => synthEnvironment({ files: files(500, 64) })).toThrow(/the key policy of env staging would be about \d+ bytes with its 500 declared secret names, more than the 32768 KMS allows/);
  });
});

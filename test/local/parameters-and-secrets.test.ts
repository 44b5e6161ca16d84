import { GetSecretValueCommand, CreateSecretCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, GetParametersCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint, type TestEndpoint } from './support.ts';

let local: TestEndpoint;
let ssm: SSMClient;
let secretsManager: SecretsManagerClient;

beforeAll(async () => {
  local = await startEndpoint();
  const aws = local.clients();
  [ssm, secretsManager] = await Promise.all([aws.ssm(), aws.secretsManager()]);
});
afterAll(() => local.close());

describe('SSM parameters', () => {
  it('round-trip a String parameter, with versions and name:version selectors', async () => {
    expect((await ssm.send(new PutParameterCommand({ Name: '/app/url', Value: 'v1', Type: 'String' }))).Version).toBe(1);
    await expect(ssm.send(new PutParameterCommand({ Name: '/app/url', Value: 'v2', Type: 'String' }))).rejects.toMatchObject({ name: 'ParameterAlreadyExists' });
    expect((await ssm.send(new PutParameterCommand({ Name: '/app/url', Value: 'v2', Overwrite: true }))).Version).toBe(2);
    const latest = await ssm.send(new GetParameterCommand({ Name: '/app/url' }));
    expect(latest.Parameter).toMatchObject({ Name: '/app/url', Value: 'v2', Version: 2, Type: 'String', ARN: 'arn:aws:ssm:us-east-1:000000000000:parameter/app/url' });
    const first = await ssm.send(new GetParameterCommand({ Name: '/app/url:1' }));
    expect(first.Parameter).toMatchObject({ Value: 'v1', Version: 1, Selector: ':1' });
  });

  it('keep SecureString values encrypted at rest and decrypt them only WithDecryption', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/app/db-password', Value: 'marker-ssm-plaintext', Type: 'SecureString' }));
    const encrypted = await ssm.send(new GetParameterCommand({ Name: '/app/db-password' }));
    expect(encrypted.Parameter!.Value).not.toContain('marker-ssm-plaintext');
    const decrypted = await ssm.send(new GetParameterCommand({ Name: '/app/db-password', WithDecryption: true }));
    expect(decrypted.Parameter!.Value).toBe('marker-ssm-plaintext');
    expect(readFileSync(join(local.dir, 'ssm.json'), 'utf8')).not.toContain('marker-ssm-plaintext');
  });

  it('report missing names of GetParameters as InvalidParameters, and ParameterNotFound for GetParameter', async () => {
    await ssm.send(new PutParameterCommand({ Name: 'plain', Value: 'x', Type: 'String' }));
    const result = await ssm.send(new GetParametersCommand({ Names: ['plain', '/nope'] }));
    expect(result.Parameters!.map((p) => p.Name)).toEqual(['plain']);
    expect(result.InvalidParameters).toEqual(['/nope']);
    await expect(ssm.send(new GetParameterCommand({ Name: '/nope' }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
  });

  it('take at most ten names per GetParameters: ValidationException', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `/p${i}`);
    await expect(ssm.send(new GetParametersCommand({ Names: names }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('Secrets Manager secrets', () => {
  it('round-trip by name and by ARN, with AWSCURRENT moving to each new version', async () => {
    const created = await secretsManager.send(new CreateSecretCommand({ Name: 'prod/api/token', SecretString: 'marker-secret-one' }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:prod\/api\/token-[A-Za-z]{6}$/);
    const put = await secretsManager.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'marker-secret-two' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    const current = await secretsManager.send(new GetSecretValueCommand({ SecretId: 'prod/api/token' }));
    expect(current).toMatchObject({ SecretString: 'marker-secret-two', VersionId: put.VersionId, VersionStages: ['AWSCURRENT'] });
    const previous = await secretsManager.send(new GetSecretValueCommand({ SecretId: created.ARN, VersionStage: 'AWSPREVIOUS' }));
    expect(previous).toMatchObject({ SecretString: 'marker-secret-one', VersionId: created.VersionId });
    expect(readFileSync(join(local.dir, 'secrets-manager.json'), 'utf8')).not.toContain('marker-secret');
  });

  it('answer ResourceNotFoundException for an unknown secret and ResourceExistsException for a taken name', async () => {
    await secretsManager.send(new CreateSecretCommand({ Name: 'taken', SecretString: 'x' }));
    await expect(secretsManager.send(new CreateSecretCommand({ Name: 'taken', SecretString: 'x' }))).rejects.toMatchObject({ name: 'ResourceExistsException' });
    await expect(secretsManager.send(new GetSecretValueCommand({ SecretId: 'missing' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

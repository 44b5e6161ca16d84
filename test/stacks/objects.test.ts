import { describe, expect, it } from 'vitest';
import { secretFile, synthEnvironment } from '../support/synth.ts';

describe('SecretObjects: one S3 object per ciphertext file, uploaded from the file itself', () => {
  const files = [secretFile('staging', 'api', 'db-password'), secretFile('staging', 'api', 'tls.crt'), secretFile('staging', 'web', 'session-key')];
  const { config, json } = synthEnvironment({ files });
  const ciphertext = Object.entries(config.resource.aws_s3_object ?? {}).filter(([id]) => id.startsWith('objects_'));
  const objects = ciphertext.map(([, object]) => object);

  it('uploads every file under <service>/<name>', () => {
    expect(objects.map((o) => o.key).sort()).toEqual(['api/db-password', 'api/tls.crt', 'web/session-key']);
  });

  it('uploads from the file, with its path relative to the stack folder so every checkout plans alike', () => {
    const object = objects.find((o) => o.key === 'api/db-password')!;
    expect(object.source).toBe('../../../secrets/staging/api/db-password');
    expect(object.etag).toBe('${filemd5("../../../secrets/staging/api/db-password")}');
  });

  it('stores opaque bytes, SSE-S3 encrypted', () => {
    for (const object of objects) expect(object).toMatchObject({ content_type: 'application/octet-stream', server_side_encryption: 'AES256' });
  });

  it('uploads only once the bucket is configured and the service\'s declared list is written: a new object is never undeclared', () => {
    const configuration = ['aws_s3_bucket_versioning', 'aws_s3_bucket_server_side_encryption_configuration', 'aws_s3_bucket_policy',
      'aws_s3_bucket_public_access_block', 'aws_s3_bucket_ownership_controls']
      .map((type) => `${type}.${Object.keys(config.resource[type] ?? {})[0]}`);
    const declaredList = (service: string) => `aws_s3_object.${Object.keys(config.resource.aws_s3_object!).find((id) => id.startsWith(`declared_${service}_`))}`;
    for (const object of objects) {
      const service = String(object.key).split('/')[0]!;
      expect([...(object.depends_on as string[])].sort()).toEqual([...configuration, declaredList(service)].sort());
    }
  });

  it('never puts content into the configuration and never decrypts', () => {
    for (const object of objects) {
      expect(object.content).toBeUndefined();
      expect(object.content_base64).toBeUndefined();
    }
    expect(json).not.toMatch(/aws_kms_secrets|aws_kms_ciphertext/);
  });

  it('keeps resource addresses stable: named by service and secret', () => {
    expect(ciphertext.map(([id]) => id).sort()).toEqual([
      expect.stringMatching(/^objects_api_db-password_[0-9A-F]{8}$/),
      expect.stringMatching(/^objects_api_tlscrt_[0-9A-F]{8}$/),
      expect.stringMatching(/^objects_web_session-key_[0-9A-F]{8}$/),
    ]);
  });

  it('refuses a file of another env', () => {
    expect(() => synthEnvironment({ files: [secretFile('production', 'api', 'db-password')] }))
      .toThrow(/env "staging" was given .* a secret of env "production"/);
  });
});

import { describe, expect, it } from 'vitest';
import { parseDeclaredList } from '../../lib/declared.ts';
import { KEY_ARN } from '../support/policies.ts';
import { secretFile, synthEnvironment } from '../support/synth.ts';

/** The list as deployed: the key's ARN in place of its reference. */
const deployed = (content: unknown) => String(content).replace(/\$\{aws_kms_key\.\w+\.arn\}/, KEY_ARN);

describe('DeclaredSecrets: each service\'s secret names, as an object only an administrator\'s apply writes', () => {
  const files = [secretFile('staging', 'api', 'db-password'), secretFile('staging', 'api', 'tls.crt'), secretFile('staging', 'web', 'session-key')];
  const { config } = synthEnvironment({ files });
  const lists = Object.entries(config.resource.aws_s3_object ?? {}).filter(([id]) => id.startsWith('declared_')).map(([, object]) => object);

  it('writes one list per service at .declared/<service>.json, outside every service prefix', () => {
    expect(lists.map((list) => list.key).sort()).toEqual(['.declared/api.json', '.declared/web.json']);
  });

  it('declares exactly the names the tree has for the service', () => {
    const api = lists.find((list) => list.key === '.declared/api.json')!;
    expect(parseDeclaredList(deployed(api.content), { env: 'staging', service: 'api' }, 'api').secrets).toEqual(['db-password', 'tls.crt']);
    const web = lists.find((list) => list.key === '.declared/web.json')!;
    expect(parseDeclaredList(deployed(web.content), { env: 'staging', service: 'web' }, 'web').secrets).toEqual(['session-key']);
  });

  it('names the env\'s key, the only one the runtime decrypts under', () => {
    for (const list of lists) expect(parseDeclaredList(deployed(list.content), { env: 'staging', service: String(list.key).slice(10, -5) }, 'list').keyArn).toBe(KEY_ARN);
  });

  it('is written after the bucket\'s configuration, SSE-S3 like every object', () => {
    for (const list of lists) {
      expect(list).toMatchObject({ content_type: 'application/json', server_side_encryption: 'AES256' });
      expect(list.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_s3_bucket_policy\./)]));
    }
  });

  it('carries the MD5 of its content as its etag, computed by Terraform with the key\'s ARN in place (a refresh reads the etag back, never the content)', () => {
    const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    for (const list of lists) {
      const match = /^\$\{md5\(replace\((".*"), "<the key ARN>", aws_kms_key\.\w+\.arn\)\)\}$/.exec(String(list.etag));
      expect(match, String(list.etag)).not.toBeNull();
      const withKey = (JSON.parse(match![1]!) as string).replace('<the key ARN>', ARN);
      expect(withKey).toBe(String(list.content).replace(/\$\{aws_kms_key\.\w+\.arn\}/, ARN));
    }
  });

  it('is the same for the same tree, in any order, so an unchanged tree plans no change', () => {
    const again = synthEnvironment({ files: [...files].reverse() }).config;
    const content = (config_: typeof config) => Object.entries(config_.resource.aws_s3_object ?? {}).filter(([id]) => id.startsWith('declared_')).map(([, o]) => o.content).sort();
    expect(content(again)).toEqual(content(config));
  });
});

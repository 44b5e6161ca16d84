/** `kms-secrets reencrypt`: every ciphertext of an env moves to another key and keeps its value. */
import { DisableKeyCommand, UpdateAliasCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { TestProject } from '../support/project.ts';
import { ALIAS, cli, localProject, startAws, type Aws } from './support.ts';

let aws: Aws;
let project: TestProject;
beforeAll(async () => (aws = await startAws()));
afterAll(() => aws.close());
afterEach(() => project?.remove());

/** Three KMS-size secrets and a certificate (envelope) in env demo, under whatever key the alias names now. */
async function seedSecrets(): Promise<Map<string, Buffer>> {
  const values = new Map<string, Buffer>([
    ['api/db-password', randomBytes(24)],
    ['api/tls.crt', randomBytes(5000)],
    ['web/session-key', randomBytes(64)],
    ['worker/token', randomBytes(8)],
  ]);
  for (const [path, value] of values) {
    const run = await cli(aws, project, ['encrypt', path, '--from-file', project.write(`in/${path}`, value)]);
    expect(run.code).toBe(0);
  }
  return values;
}

async function expectValues(values: Map<string, Buffer>): Promise<void> {
  for (const [path, value] of values) {
    const run = await cli(aws, project, ['decrypt', path, '--reveal']);
    expect(run.stderr).toMatch(/decrypts/);
    expect(run.stdoutBytes).toEqual(value);
  }
}

/** The key ids each ciphertext names: local blobs and the envelope's wrapped data key carry the key id. */
function keysNamedBy(...keyIds: string[]): Record<string, string[]> {
  const named: Record<string, string[]> = {};
  for (const service of readdirSync(join(project.root, 'secrets', 'demo'))) {
    for (const name of readdirSync(join(project.root, 'secrets', 'demo', service))) {
      const bytes = readFileSync(join(project.root, 'secrets', 'demo', service, name));
      named[`${service}/${name}`] = keyIds.filter((keyId) => bytes.includes(Buffer.from(keyId)));
    }
  }
  return named;
}

describe('kms-secrets reencrypt', () => {
  test('moves every secret to the key the env\'s alias names now; the old key can then be disabled', async () => {
    project = localProject();
    const oldKey = await aws.createKey();
    await aws.clients.kms.send(new UpdateAliasCommand({ AliasName: ALIAS, TargetKeyId: oldKey }));
    const values = await seedSecrets();
    const newKey = await aws.createKey();
    await aws.clients.kms.send(new UpdateAliasCommand({ AliasName: ALIAS, TargetKeyId: newKey }));

    const run = await cli(aws, project, ['reencrypt', '--env', 'demo']);

    expect(run.code).toBe(0);
    expect(run.stderr).toBe(''); // no progress drawing outside a terminal
    expect(run.stdout).toMatch(/^env demo: re-encrypted 4 secrets under alias\/kms-secrets\/demo in [\d.]+ s \(3 with KMS ReEncrypt, 1 envelope decrypted and encrypted again in memory\)\n$/);
    expect(keysNamedBy(oldKey, newKey)).toEqual({
      'api/db-password': [newKey], 'api/tls.crt': [newKey], 'web/session-key': [newKey], 'worker/token': [newKey],
    });
    await aws.clients.kms.send(new DisableKeyCommand({ KeyId: oldKey }));
    await expectValues(values);
  });

  test('--to-key names the target; running it again is harmless', async () => {
    project = localProject();
    const values = await seedSecrets();
    const target = await aws.createKey('alias/kms-secrets/demo-next');

    const first = await cli(aws, project, ['reencrypt', '--env', 'demo', '--to-key', 'alias/kms-secrets/demo-next']);
    const again = await cli(aws, project, ['reencrypt', '--env', 'demo', '--to-key', 'alias/kms-secrets/demo-next']);

    expect([first.code, again.code]).toEqual([0, 0]);
    expect(Object.values(keysNamedBy(target))).toEqual([[target], [target], [target], [target]]);
    await expectValues(values);
  });

  test('stops at the first failure, says how far it got, and leaves every file whole', async () => {
    project = localProject();
    const values = await seedSecrets();
    const before = Object.fromEntries([...values.keys()].map((path) => [path, readFileSync(join(project.root, 'secrets', 'demo', path))]));

    const run = await cli(aws, project, ['reencrypt', '--env', 'demo', '--to-key', 'alias/no-such-key']);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: secrets\/demo\/\S+: alias\/no-such-key does not exist in region us-east-1: NotFoundException: .* \(stopped after 0 of 4 secrets\)\n/);
    expect(run.stderr).toMatch(/\nhint: .*run reencrypt --env demo again: each file is whole, old or new, and redoing one is harmless\n$/);
    for (const path of values.keys()) expect(readFileSync(join(project.root, 'secrets', 'demo', path))).toEqual(before[path]);
  });

  test('needs --env: the env of a bulk rewrite is never implied', async () => {
    project = localProject();
    const run = await cli(aws, project, ['reencrypt'], { env: { SECRETS_ENV: 'demo' } });

    expect(run.code, 'a usage mistake').toBe(2);
    expect(run.stderr).toMatch(/^kms-secrets: reencrypt needs --env: it rewrites every secret of one env, so the env is never implied\n/);
  });
});

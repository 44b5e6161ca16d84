/**
 * The operator commands on Node 24, the current LTS line, as on Node 20 (which runs every other test of them):
 * a secret encrypted, checked, listed and decrypted, and a bad option refused, each by a Node 24 process.
 * plan-check and the CDK commands on Node 24 are in test/terraform/cdk-terrain.test.ts and test/lib/toolchain.test.ts.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { NODE_24 } from '../support/node-versions.ts';
import { filesContaining, marker } from '../support/markers.ts';
import type { TestProject } from '../support/project.ts';
import { cli, localProject, startAws, type Aws } from './support.ts';

let aws: Aws;
let project: TestProject;
beforeAll(async () => {
  aws = await startAws();
  project = localProject();
});
afterAll(async () => {
  project?.remove();
  await aws?.close();
});
const on24 = (args: readonly string[], input?: string) => cli(aws, project, args, { node: NODE_24, input });

test('encrypt, verify, list and decrypt, each run by Node 24', async () => {
  const value = marker('node-24');
  const encrypt = await on24(['encrypt', 'api/db-password'], value);
  expect(encrypt.code, encrypt.stderr).toBe(0);

  const verify = await on24(['verify']);
  expect(verify.code, verify.stderr).toBe(0);
  expect(verify.stdout).toMatch(/1 secret/);

  const list = await on24(['list']);
  expect(list.code, list.stderr).toBe(0);
  expect(list.stdout).toMatch(/^demo +api +db-password +DB_PASSWORD +local /m);

  const decrypt = await on24(['decrypt', 'api/db-password']);
  expect(decrypt.code, decrypt.stderr).toBe(0);
  expect(decrypt.stdout).toContain(`${Buffer.byteLength(value)} bytes`);
  expect([encrypt, verify, list, decrypt].map((run) => run.stdout + run.stderr).join('')).not.toContain(value);
  expect(filesContaining([project.root, aws.stateDir], value)).toEqual([]);
});

test('an unknown option: the same message and exit 2 as on Node 20', async () => {
  const [on24Run, on20Run] = [await on24(['verify', '--bogus']), await cli(aws, project, ['verify', '--bogus'])];
  expect(on24Run.code).toBe(2);
  expect(on24Run.stderr).toBe('kms-secrets: unknown option --bogus\nhint: usage: kms-secrets verify\n');
  expect(on24Run).toEqual(on20Run);
});

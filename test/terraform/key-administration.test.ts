/**
 * Key administration by name, with real applies on the local endpoint: an administrator the settings do not
 * name cannot make the env's first deploy (KMS refuses to create a key its policy would not let the caller
 * change), and nothing of the env exists afterwards; the named administrator deploys, changes and destroys it;
 * an IAM policy that allows kms:* elsewhere administers nothing.
 */
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { DescribeKeyCommand, ListKeysCommand, PutKeyPolicyCommand, ScheduleKeyDeletionCommand, UpdateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encryptSecret } from '../../lib/cipher.ts';
import { ACCOUNT_ID, terraformProviderEnv, TEST_CREDENTIALS } from '../../local/index.ts';
import { runCdktf } from '../../scripts/cdktf.ts';
import { startEndpoint, type TestEndpoint } from '../local/support.ts';
import { makeProject, type TestProject } from '../support/project.ts';
import { credentialsEnv, roleWithPolicy, type RoleCredentials } from '../support/roles.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const role = (name: string) => `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;
const everything = [{ Effect: 'Allow', Action: '*', Resource: '*' }];

describeWithTerraform('key administration by name: only keyAdministrators (and the root user) administer the key', () => {
  let aws: TestEndpoint;
  let project: TestProject;
  let named: RoleCredentials;
  let unnamed: RoleCredentials;
  let powerUser: RoleCredentials;
  const deployAs = (who: RoleCredentials, args = ['deploy', 'demo', '--auto-approve']) =>
    runCdktf(project.root, args, { ...envWithoutAws(terraformProviderEnv(aws.endpoint.url)), ...credentialsEnv(who) });
  const keyCount = async () => (await aws.clients().kms.send(new ListKeysCommand({}))).Keys?.length ?? 0;

  beforeAll(async () => {
    aws = await startEndpoint();
    // Two administrators with every IAM right; the settings name only one of them.
    named = await roleWithPolicy(aws.endpoint.url, 'platform-admin', everything);
    unnamed = await roleWithPolicy(aws.endpoint.url, 'other-admin', everything);
    powerUser = await roleWithPolicy(aws.endpoint.url, 'power-user', [{ Effect: 'Allow', Action: ['kms:*', 's3:*'], Resource: '*' }]);
    const fixtureKey = (await aws.clients().kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    project = makeProject({ app: true, settings: { environments: { demo: { local: true, forceDestroy: true, keyAdministrators: [role('platform-admin')] } } } });
    const { ciphertext } = await encryptSecret(aws.clients().kms, fixtureKey, { env: 'demo', service: 'api', name: 'token' }, Buffer.from('placeholder'));
    project.write('secrets/demo/api/token', ciphertext);
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(async () => {
    project?.remove();
    await aws?.close();
  });

  it('refuses the first deploy by an administrator the settings do not name, before anything of the env exists', async () => {
    const keys = await keyCount();
    const deploy = await deployAs(unnamed);

    expect(deploy.code).not.toBe(0);
    expect(deploy.output).toMatch(/creating KMS Key[\s\S]*MalformedPolicyDocumentException: The new key policy will not allow you to update the key policy in the future/);
    expect(await keyCount(), 'no key').toBe(keys);
    expect((await aws.clients().s3.send(new ListBucketsCommand({}))).Buckets ?? [], 'no bucket').toEqual([]);
    const iam = new IAMClient({ endpoint: aws.endpoint.url, region: 'us-east-1', credentials: TEST_CREDENTIALS });
    await expect(iam.send(new GetRoleCommand({ RoleName: 'kms-secrets-demo.task-api' })), 'no role').rejects.toThrow(/NoSuchEntity|cannot be found/);
    iam.destroy();
  }, TERRAFORM_TIMEOUT_MS);

  it('lets the named administrator make that deploy, and the same deploy again plans no change', async () => {
    const deploy = await deployAs(named);
    expect(deploy.code, deploy.output).toBe(0);
    const plan = await deployAs(named, ['plan', 'demo']);
    expect(plan.code, plan.output).toBe(0);
    expect(plan.output).toMatch(/No changes/);
  }, TERRAFORM_TIMEOUT_MS);

  it('refuses PutKeyPolicy, UpdateAlias and ScheduleKeyDeletion to an administrator the settings do not name, whatever IAM allows', async () => {
    const keyId = (await aws.clients().kms.send(new DescribeKeyCommand({ KeyId: 'alias/kms-secrets/demo' }))).KeyMetadata!.KeyId!;
    for (const who of [unnamed, powerUser]) {
      const kms = aws.clients(who).kms;
      const ownKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'kms:*', Resource: '*' }] });
      await expect(kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: policy }))).rejects.toThrow(/not authorized to perform: kms:PutKeyPolicy/);
      await expect(kms.send(new UpdateAliasCommand({ AliasName: 'alias/kms-secrets/demo', TargetKeyId: ownKey }))).rejects.toThrow(/not authorized to perform: kms:UpdateAlias/);
      await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }))).rejects.toThrow(/not authorized to perform: kms:ScheduleKeyDeletion/);
    }
  });

  it('lets the named administrator destroy the env', async () => {
    const destroy = await deployAs(named, ['destroy', 'demo', '--auto-approve']);
    expect(destroy.code, destroy.output).toBe(0);
  }, TERRAFORM_TIMEOUT_MS);
});

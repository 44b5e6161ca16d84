/**
 * Key administration by name, with a real apply on the local endpoint: an administrator the settings do not
 * name cannot make the env's first deploy (KMS refuses to create a key its policy would not let the caller
 * change), and nothing of the env exists afterwards. The named administrator's deploy, and what an IAM policy
 * allowing kms:* may not do to the deployed key, are in escalation.test.ts. The refusal takes about two
 * minutes: the AWS provider retries it, as a policy naming a principal still propagating would be.
 */
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { CreateKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encryptSecret } from '../../lib/cipher.ts';
import { ACCOUNT_ID, terraformProviderEnv, TEST_CREDENTIALS } from '../../local/index.ts';
import { runCdktf } from '../../scripts/cdktf.ts';
import { startEndpoint, type TestEndpoint } from '../local/support.ts';
import { makeProject, type TestProject } from '../support/project.ts';
import { createRole, credentialsEnv, roleWithPolicy, type RoleCredentials } from '../support/roles.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const role = (name: string) => `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;
const everything = [{ Effect: 'Allow', Action: '*', Resource: '*' }];

describeWithTerraform('key administration by name: only keyAdministrators (and the root user) administer the key', () => {
  let aws: TestEndpoint;
  let project: TestProject;
  let unnamed: RoleCredentials;
  const deployAs = (who: RoleCredentials) =>
    runCdktf(project.root, ['deploy', 'demo', '--auto-approve'], { ...envWithoutAws(terraformProviderEnv(aws.endpoint.url)), ...credentialsEnv(who) });
  const keyCount = async () => (await aws.clients().kms.send(new ListKeysCommand({}))).Keys?.length ?? 0;

  beforeAll(async () => {
    aws = await startEndpoint();
    // Two administrators with every IAM right; the settings name the other one.
    await createRole(aws.endpoint.url, 'platform-admin', [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'sts:AssumeRole' }], everything);
    unnamed = await roleWithPolicy(aws.endpoint.url, 'other-admin', everything);
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
});

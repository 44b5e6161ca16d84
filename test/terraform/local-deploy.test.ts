/**
 * The real stack, deployed for real: `cdktf deploy` with the real Terraform AWS provider against the
 * embedded local endpoint, then plans by the CI principal, updates and a destroy. It is also the proof that the
 * endpoint answers the provider as AWS does for every resource the stack makes: a plan after the deploy changes
 * nothing, an update writes only what changed, a destroy leaves the key pending deletion.
 */
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { GetBucketLifecycleConfigurationCommand, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encryptSecret } from '../../lib/cipher.ts';
import { ACCOUNT_ID, terraformProviderEnv } from '../../local/index.ts';
import { runCdktf } from '../../scripts/cdktf.ts';
import { runTerraform } from '../../scripts/terraform.ts';
import { startEndpoint, type TestEndpoint } from '../local/support.ts';
import type { StatusRow } from '../../lib/deploy-status.ts';
import { runCli } from '../support/cli.ts';
import { filesContaining } from '../support/markers.ts';
import { makeProject, REPO_ROOT, type TestProject } from '../support/project.ts';
import { assumeRole, credentialsEnv, roleWithPolicy } from '../support/roles.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const MARKER = 'MARKER-PLAINTEXT-3b9d41';
const KMS_CRYPTO = new Set(['Encrypt', 'Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncrypt']);

describeWithTerraform('the stack deployed on the local endpoint', () => {
  let aws: TestEndpoint;
  let project: TestProject;
  let adminEnv: NodeJS.ProcessEnv;
  let fixtureKey: string;

  async function writeSecret(service: string, name: string, value: string, env = 'demo'): Promise<void> {
    const { ciphertext } = await encryptSecret(aws.clients().kms, fixtureKey, { env, service, name }, Buffer.from(value));
    project.write(`secrets/${env}/${service}/${name}`, ciphertext);
  }

  const cdktf = (args: string[], env = adminEnv) => runCdktf(project.root, args, env);
  /** `kms-secrets status` as CI runs it: with the stack's own ci-plan role, which has no KMS cryptographic right. */
  async function statusAsCi(): Promise<{ code: number | null; states: Record<string, string>; output: string }> {
    const ci = await assumeRole(aws.endpoint.url, 'kms-secrets-demo.ci-plan');
    const before = aws.endpoint.requests().length;
    const run = await runCli(['status', '--env', 'demo', '--json'], { cwd: project.root, env: { ...adminEnv, ...credentialsEnv(ci) } });
    expect(kmsCryptoCallsSince(before), 'status decrypts nothing').toEqual([]);
    const rows = run.code === 0 || run.code === 1 ? (JSON.parse(run.stdout) as { secrets: StatusRow[] }).secrets : [];
    return { code: run.code, states: Object.fromEntries(rows.map((row) => [row.key, row.state])), output: run.stdout + run.stderr };
  }
  const kmsCryptoCallsSince = (index: number) =>
    aws.endpoint.requests().slice(index).filter((r) => r.service === 'kms' && KMS_CRYPTO.has(r.operation));

  beforeAll(async () => {
    aws = await startEndpoint();
    // The ciphertext fixtures are real local-endpoint ciphertext of a marker value.
    fixtureKey = (await aws.clients().kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    project = makeProject({
      app: true,
      settings: { environments: { demo: { local: true, forceDestroy: true, roles: { ciPlan: { awsPrincipals: ['arn:aws:iam::000000000000:root'] } } } } },
    });
    await writeSecret('api', 'db-password', `${MARKER}-db`);
    await writeSecret('api', 'tls.crt', `${MARKER}-cert-`.padEnd(5000, 'x'));
    await writeSecret('web', 'session-key', `${MARKER}-session`);
    adminEnv = envWithoutAws(terraformProviderEnv(aws.endpoint.url));
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(async () => {
    project?.remove();
    await aws?.close();
  });

  it('deploys: bucket, key, alias, roles, policies and one object per file', async () => {
    const before = aws.endpoint.requests().length;
    const deploy = await cdktf(['deploy', 'demo', '--auto-approve']);
    expect(deploy.code, deploy.output).toBe(0);
    const listed = await aws.clients().s3.send(new ListObjectsV2Command({ Bucket: 'kms-secrets-demo-secrets' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(['.declared/api.json', '.declared/web.json', 'api/db-password', 'api/tls.crt', 'web/session-key']);
    const { Rules } = await aws.clients().s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'kms-secrets-demo-secrets' }));
    expect(Rules).toMatchObject([{ ID: 'expire-noncurrent-ciphertext', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }]);
    expect(kmsCryptoCallsSince(before)).toEqual([]);
  }, TERRAFORM_TIMEOUT_MS);

  it('a wrong --var env stops before anything is refreshed or asked of AWS: its message is not buried under the refresh', async () => {
    const before = aws.endpoint.requests().length;
    const wrong = await cdktf(['plan', 'demo', '--var', 'env=staging']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.output.replace(/\s+/g, ' ')).toMatch(/This is the "demo" stack, but env is "staging"/);
    expect(wrong.output).not.toMatch(/Refreshing state/);
    expect(aws.endpoint.requests().slice(before)).toEqual([]);
  }, TERRAFORM_TIMEOUT_MS);

  it('plans no changes right after, with the ci-plan role, whose credentials carry no KMS cryptographic right', async () => {
    const ci = await assumeRole(aws.endpoint.url, 'kms-secrets-demo.ci-plan');
    const ciEnv = { ...adminEnv, ...credentialsEnv(ci) };
    const before = aws.endpoint.requests().length;
    const plan = await cdktf(['plan', 'demo'], ciEnv);
    expect(plan.code, plan.output).toBe(0);
    expect(plan.output).toMatch(/No changes\./);
    const asCi = aws.endpoint.requests().slice(before).filter((r) => r.accessKeyId === ci.accessKeyId);
    expect(asCi.length).toBeGreaterThan(10);
    expect(asCi.filter((r) => /AccessDenied/.test(r.error ?? ''))).toEqual([]);
    expect(kmsCryptoCallsSince(before)).toEqual([]);
  }, TERRAFORM_TIMEOUT_MS);

  it('status, with the ci-plan role: every secret in sync right after the deploy (exit 0)', async () => {
    const status = await statusAsCi();
    expect(status.code, status.output).toBe(0);
    expect(status.states).toEqual({ 'api/db-password': 'in sync', 'api/tls.crt': 'in sync', 'web/session-key': 'in sync' });
  }, TERRAFORM_TIMEOUT_MS);

  it('plans a new environment with credentials that carry no KMS right at all', async () => {
    project.write('kms-secrets.json', JSON.stringify({ environments: {
      demo: { local: true, forceDestroy: true, roles: { ciPlan: { awsPrincipals: ['arn:aws:iam::000000000000:root'] } } },
      fresh: { local: true },
    } }));
    await writeSecret('api', 'db-password', `${MARKER}-fresh`, 'fresh');
    const noKms = await roleWithPolicy(aws.endpoint.url, 'no-kms', [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }]);
    const before = aws.endpoint.requests().length;
    const plan = await cdktf(['plan', 'fresh'], { ...adminEnv, ...credentialsEnv(noKms) });
    expect(plan.code, plan.output).toBe(0);
    expect(plan.output).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy/);
    expect(aws.endpoint.requests().slice(before).filter((r) => r.service === 'kms')).toEqual([]);
  }, TERRAFORM_TIMEOUT_MS);

  it('a changed ciphertext file updates exactly that object; status says "changed in git" before and "in sync" after', async () => {
    await writeSecret('web', 'session-key', `${MARKER}-rotated`);
    const rotated = await statusAsCi();
    expect(rotated.code, rotated.output).toBe(1);
    expect(rotated.states['web/session-key']).toBe('changed in git, not deployed');
    expect(rotated.states['api/db-password']).toBe('in sync');

    const before = aws.endpoint.requests().length;
    const deploy = await cdktf(['deploy', 'demo', '--auto-approve']);
    expect(deploy.code, deploy.output).toBe(0);
    expect(deploy.output).toMatch(/0 added, 1 changed, 0 destroyed/);
    const writes = aws.endpoint.requests().slice(before).filter((r) => /^(Put|Create|Delete|Update|Attach|Detach|Tag|Schedule)/.test(r.operation));
    expect(writes.map((r) => r.operation), 'the object is all that changes').toEqual(['PutObject']);
    const deployed = await statusAsCi();
    expect(deployed.code, deployed.output).toBe(0);
    expect(deployed.states['web/session-key']).toBe('in sync');
  }, TERRAFORM_TIMEOUT_MS);

  it('a secret removed from git and one added: status says "deployed, not in git" and "missing from the bucket"; the deploy settles both', async () => {
    rmSync(join(project.root, 'secrets/demo/api/tls.crt'));
    await writeSecret('web', 'api-token', `${MARKER}-token`);
    const edited = await statusAsCi();
    expect(edited.code, edited.output).toBe(1);
    expect(edited.states).toEqual({
      'api/db-password': 'in sync',
      'api/tls.crt': 'deployed, not in git',
      'web/api-token': 'missing from the bucket',
      'web/session-key': 'in sync',
    });

    const deploy = await cdktf(['deploy', 'demo', '--auto-approve']);
    expect(deploy.code, deploy.output).toBe(0);
    // The objects, and the two services' declared lists and the key policy, which name the secrets.
    expect(deploy.output).toMatch(/1 added, 3 changed, 1 destroyed/);
    const deployed = await statusAsCi();
    expect(deployed.code, deployed.output).toBe(0);
    expect(deployed.states).toEqual({ 'api/db-password': 'in sync', 'web/api-token': 'in sync', 'web/session-key': 'in sync' });
  }, TERRAFORM_TIMEOUT_MS);

  it('the plain Terraform example (examples/terraform) reads the stack\'s outputs and applies a task definition with the task role and the variables', async () => {
    const example = mkdtempSync(join(tmpdir(), 'kms-secrets-hcl-'));
    try {
      copyFileSync(join(REPO_ROOT, 'examples', 'terraform', 'main.tf'), join(example, 'main.tf'));
      const vars = ['-var', 'env=demo', '-var', 'service=api', '-var', 'image=api:1.0', '-var', `stack_state=${join(project.root, 'state', 'demo.tfstate')}`];
      const terraform = (args: string[]) => runTerraform(project.root, example, [...args, '-no-color'], { output: 'capture', env: adminEnv });
      const init = await terraform(['init', '-input=false']);
      expect(init.code, init.stdout + init.stderr).toBe(0);
      const before = aws.endpoint.requests().length;
      const apply = await terraform(['apply', '-input=false', '-auto-approve', ...vars]);
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      expect(apply.stdout).toMatch(/Apply complete! Resources: 1 added, 0 changed, 0 destroyed/);
      expect(aws.endpoint.requests().slice(before).filter((r) => r.operation === 'RegisterTaskDefinition' && !r.error)).toHaveLength(1);

      const show = await terraform(['show', '-json']);
      const resources = (JSON.parse(show.stdout) as { values: { root_module: { resources: { type: string; values: Record<string, string> }[] } } }).values.root_module.resources;
      const task = resources.find((r) => r.type === 'aws_ecs_task_definition')!.values;
      expect(task.task_role_arn).toBe(`arn:aws:iam::${ACCOUNT_ID}:role/kms-secrets-demo.task-api`);
      const [container] = JSON.parse(task.container_definitions!) as { entryPoint: string[]; environment: { name: string; value: string }[] }[];
      expect(container!.entryPoint).toEqual(['kms-secrets', 'exec', '--']);
      expect(container!.environment).toEqual([
        { name: 'SECRETS_BUCKET', value: 'kms-secrets-demo-secrets' }, { name: 'SECRETS_ENV', value: 'demo' }, { name: 'SECRETS_SERVICES', value: 'api' },
      ]);

      const plan = await terraform(['plan', '-input=false', '-detailed-exitcode', ...vars]);
      expect(plan.code, `a second plan changes nothing:\n${plan.stdout}${plan.stderr}`).toBe(0);
      const destroy = await terraform(['destroy', '-input=false', '-auto-approve', ...vars]);
      expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    } finally {
      rmSync(example, { recursive: true, force: true });
    }
  }, TERRAFORM_TIMEOUT_MS);

  it('never writes the plaintext to the state, the synthesized files or the endpoint\'s state', () => {
    expect(readFileSync(join(project.root, 'state/demo.tfstate'), 'utf8')).toContain('api/db-password');
    expect(filesContaining([project.root, aws.dir], MARKER)).toEqual([]);
  });

  it('destroys everything: the bucket, the roles and the state\'s resources are gone, the key is pending deletion', async () => {
    const keyArn = (await aws.clients().kms.send(new DescribeKeyCommand({ KeyId: 'alias/kms-secrets/demo' }))).KeyMetadata!.Arn!;
    const destroy = await cdktf(['destroy', 'demo', '--auto-approve']);
    expect(destroy.code, destroy.output).toBe(0);
    await expect(aws.clients().s3.send(new HeadBucketCommand({ Bucket: 'kms-secrets-demo-secrets' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await expect(aws.iam().send(new GetRoleCommand({ RoleName: 'kms-secrets-demo.task-api' }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    const { KeyMetadata } = await aws.clients().kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    expect(KeyMetadata!.KeyState).toBe('PendingDeletion');
    expect(JSON.parse(readFileSync(join(project.root, 'state/demo.tfstate'), 'utf8')).resources).toEqual([]);
  }, TERRAFORM_TIMEOUT_MS);
});

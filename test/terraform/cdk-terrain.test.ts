/**
 * CDK Terrain (`cdktn`), the continuation of the archived cdktf, as a project's toolchain end to end: an env
 * deployed with cdktf switches to cdktn ("toolchain": "cdktn" in kms-secrets.json) and plans no change as CI; then
 * cdktn, on Node 24, deploys by `--var env`, plan-check plans as CI, and cdktn destroys, on the local endpoint with
 * the real Terraform. The same stacks/ code synthesizes under both (cdktf names cdktn there).
 */
import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encryptSecret } from '../../lib/cipher.ts';
import { terraformProviderEnv } from '../../local/index.ts';
import { runCdktf } from '../../scripts/cdktf.ts';
import { startEndpoint, type TestEndpoint } from '../local/support.ts';
import { runCli } from '../support/cli.ts';
import { filesContaining } from '../support/markers.ts';
import { NODE_24 } from '../support/node-versions.ts';
import { makeProject, REPO_ROOT, type TestProject } from '../support/project.ts';
import { assumeRole, credentialsEnv } from '../support/roles.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const MARKER = 'MARKER-PLAINTEXT-terrain-5e1c';
const BUCKET = 'kms-secrets-demo-secrets';
const CDKTN_VERSION = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'cdktn', 'package.json'), 'utf8')).version as string;
const CDKTF_VERSION = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'cdktf', 'package.json'), 'utf8')).version as string;
const ENV_SETTINGS = { local: true, forceDestroy: true, roles: { ciPlan: { awsPrincipals: ['arn:aws:iam::000000000000:root'] } } };

describeWithTerraform('CDK Terrain as the project\'s toolchain, on Node 24', () => {
  let aws: TestEndpoint;
  let project: TestProject;
  let adminEnv: NodeJS.ProcessEnv;
  let fixtureKey: string;

  async function writeSecret(name: string, value: string): Promise<void> {
    const { ciphertext } = await encryptSecret(aws.clients().kms, fixtureKey, { env: 'demo', service: 'api', name }, Buffer.from(value));
    project.write(`secrets/demo/api/${name}`, ciphertext);
  }
  const useToolchain = (toolchain: 'cdktf' | 'cdktn') =>
    project.write('kms-secrets.json', JSON.stringify({ toolchain, environments: { demo: ENV_SETTINGS } }));
  /** The project's CLI, cdktn here, run by Node 24 (as the app it synthesizes). */
  const cdktn = (args: string[], env = adminEnv) => runCdktf(project.root, args, env, undefined, { node: NODE_24 });
  const synthesizedBy = () => JSON.parse(readFileSync(join(project.root, 'cdktf.out', 'stacks', 'demo', 'cdk.tf.json'), 'utf8'))['//'].metadata.version as string;
  const ciEnv = async () => ({ ...adminEnv, ...credentialsEnv(await assumeRole(aws.endpoint.url, 'kms-secrets-demo.ci-plan')) });

  beforeAll(async () => {
    aws = await startEndpoint();
    fixtureKey = (await aws.clients().kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    project = makeProject({ app: true });
    useToolchain('cdktf');
    await writeSecret('db-password', `${MARKER}-db`);
    adminEnv = envWithoutAws(terraformProviderEnv(aws.endpoint.url));
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(async () => {
    project?.remove();
    await aws?.close();
  });

  it('an env deployed with cdktf (Node 20) plans no change once the project switches to cdktn: same addresses, same state', async () => {
    const deploy = await runCdktf(project.root, ['deploy', 'demo', '--auto-approve'], adminEnv);
    expect(deploy.code, deploy.output).toBe(0);
    expect(synthesizedBy()).toBe(CDKTF_VERSION);

    useToolchain('cdktn');
    const plan = await cdktn(['plan', 'demo'], await ciEnv());
    expect(plan.code, plan.output).toBe(0);
    expect(synthesizedBy(), 'synthesized by the cdktn core').toBe(CDKTN_VERSION);
    expect(plan.output).toMatch(/No changes\./);
  }, TERRAFORM_TIMEOUT_MS);

  it('cdktn deploy --var env=demo (one env) uploads a new secret and declares its name', async () => {
    await writeSecret('api-key', `${MARKER}-key`);
    const deploy = await cdktn(['deploy', '--var', 'env=demo', '--auto-approve']);
    expect(deploy.code, deploy.output).toBe(0);
    expect(deploy.output).toMatch(/Apply complete! Resources: 1 added, 2 changed, 0 destroyed/);
    const listed = await aws.clients().s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(listed.Contents?.map((object) => object.Key).sort()).toEqual(['.declared/api.json', 'api/api-key', 'api/db-password']);
  }, TERRAFORM_TIMEOUT_MS);

  it('plan-check, run by Node 24 as CI, synthesizes with cdktn and says a changed ciphertext is all the plan changes (so the deploy left no drift)', async () => {
    await writeSecret('db-password', `${MARKER}-db-rotated`);
    const check = await runCli(['plan-check', 'demo'], { cwd: project.root, env: await ciEnv(), node: NODE_24 });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^plan-check demo: only ciphertext objects change \(0 to add, 1 to change, 0 to destroy\)/);
    expect(synthesizedBy()).toBe(CDKTN_VERSION);
  }, TERRAFORM_TIMEOUT_MS);

  it('cdktn destroy demo: the bucket is gone, the key pending deletion; no plaintext anywhere', async () => {
    const keyArn = (await aws.clients().kms.send(new DescribeKeyCommand({ KeyId: 'alias/kms-secrets/demo' }))).KeyMetadata!.Arn!;
    const destroy = await cdktn(['destroy', 'demo', '--auto-approve']);
    expect(destroy.code, destroy.output).toBe(0);
    await expect(aws.clients().s3.send(new HeadBucketCommand({ Bucket: BUCKET }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect((await aws.clients().kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata!.KeyState).toBe('PendingDeletion');
    expect(JSON.parse(readFileSync(join(project.root, 'state/demo.tfstate'), 'utf8')).resources).toEqual([]);
    expect(filesContaining([project.root, aws.dir], MARKER)).toEqual([]);
  }, TERRAFORM_TIMEOUT_MS);
});

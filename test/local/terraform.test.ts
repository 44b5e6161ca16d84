/**
 * The real Terraform and AWS provider 5.100.0, offline from the provider mirror, against the endpoint:
 * apply, a plan with no changes, a one-object update, and destroy. The lifecycle rule lives in a second
 * workspace with its own endpoint, applied meanwhile: the provider waits 55 s after creating one.
 */
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { GetBucketLifecycleConfigurationCommand, HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terraformProviderEnv } from '../../local/index.ts';
import { findProviderMirror, offlineTerraformEnv } from '../../scripts/terraform-offline.ts';
import { BUCKET, LIFECYCLE_BUCKET, lifecycleConfig, OBJECT_FILES, terraformConfig } from './terraform-config.ts';
import { runCommand, startEndpoint, toolAvailable, type CommandResult, type TestEndpoint } from './support.ts';
import { TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const hasTerraform = terraformOnPath() && hasProviderMirror();

function terraformOnPath(): boolean {
  if (toolAvailable('terraform', ['version'])) return true;
  if (process.env.CI === 'true') throw new Error('Terraform is required on CI: install Terraform >= 1.10');
  process.stderr.write('\n*** SKIPPING Terraform tests: terraform is not on PATH ***\n\n');
  return false;
}

function hasProviderMirror(): boolean {
  if (findProviderMirror()) return true;
  if (process.env.CI === 'true') throw new Error('The Terraform AWS provider mirror is required on CI (set TF_PROVIDER_MIRROR)');
  process.stderr.write('\n*** SKIPPING Terraform tests: no offline mirror of hashicorp/aws 5.100.0 was found ***\n\n');
  return false;
}

/** A Terraform working folder with one configuration, applied against its own local endpoint. */
class Workspace {
  private constructor(readonly local: TestEndpoint, readonly dir: string, private readonly env: Record<string, string>) {}

  static async create(config: (endpoint: string) => Record<string, unknown>): Promise<Workspace> {
    const local = await startEndpoint();
    const dir = mkdtempSync(join(tmpdir(), 'terraform-local-'));
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(config(local.endpoint.url), null, 2));
    const workspace = new Workspace(local, dir, { ...offlineTerraformEnv(dir)!, ...terraformProviderEnv(local.endpoint.url) });
    await workspace.terraform('init', '-input=false');
    return workspace;
  }

  writeFile(file: string, content: string): void {
    mkdirSync(dirname(join(this.dir, file)), { recursive: true });
    writeFileSync(join(this.dir, file), content);
  }

  /** Runs terraform; a non-zero exit fails, except plan's 2 (changes present) with -detailed-exitcode. */
  async terraform(...args: string[]): Promise<CommandResult> {
    const result = await runCommand('terraform', [...args, '-no-color'], { cwd: this.dir, env: this.env });
    if (result.code !== 0 && !(args[0] === 'plan' && result.code === 2)) {
      throw new Error(`terraform ${args.join(' ')} exited ${result.code}:\n${result.stderr}\n${result.stdout.slice(-3000)}`);
    }
    return result;
  }

  async close(): Promise<void> {
    await this.local.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasTerraform)('Terraform against the local endpoint', () => {
  let stack: Workspace;
  let lifecycle: Workspace;
  let lifecycleApplied: Promise<CommandResult>;

  beforeAll(async () => {
    [stack, lifecycle] = await Promise.all([Workspace.create(terraformConfig), Workspace.create(lifecycleConfig)]);
    lifecycleApplied = lifecycle.terraform('apply', '-auto-approve', '-input=false');
    lifecycleApplied.catch(() => undefined); // awaited by its own test; this only keeps it from being unhandled meanwhile
    stack.writeFile(OBJECT_FILES.password, 'password ciphertext v1');
    stack.writeFile(OBJECT_FILES.token, 'token ciphertext v1');
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(async () => {
    await lifecycleApplied.catch(() => undefined);
    await Promise.all([stack.close(), lifecycle.close()]);
  });

  it('applies the key, alias, hardened bucket, objects, role and policies', async () => {
    const apply = await stack.terraform('apply', '-auto-approve', '-input=false');
    expect(apply.stdout).toContain('Apply complete! Resources: 14 added, 0 changed, 0 destroyed.');
    const aws = stack.local.clients();
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'api/password' }));
    expect(head.ETag).toBe(`"${createHash('md5').update(readFileSync(join(stack.dir, OBJECT_FILES.password))).digest('hex')}"`);
    expect(apply.stdout).toContain('account_id = "000000000000"');
    const { KeyMetadata } = await aws.kms.send(new DescribeKeyCommand({ KeyId: 'alias/tf-local-secrets' }));
    expect(apply.stdout).toContain(`key_arn = "${KeyMetadata!.Arn}"`);
  }, TERRAFORM_TIMEOUT_MS);

  it('then plans no changes', async () => {
    const plan = await stack.terraform('plan', '-detailed-exitcode', '-input=false');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('No changes.');
  }, TERRAFORM_TIMEOUT_MS);

  it('updates exactly one object when one source file changes', async () => {
    stack.writeFile(OBJECT_FILES.password, 'password ciphertext v2');
    const before = stack.local.endpoint.requests().length;
    const apply = await stack.terraform('apply', '-auto-approve', '-input=false');
    expect(apply.stdout).toContain('Apply complete! Resources: 0 added, 1 changed, 0 destroyed.');
    const writes = stack.local.endpoint.requests().slice(before).filter((r) => /^(Put|Create|Delete|Update|Attach|Detach|Tag)/.test(r.operation));
    expect(writes.map((r) => r.operation)).toEqual(['PutObject']);
    const head = await stack.local.clients().s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'api/password' }));
    expect(head.ETag).toBe(`"${createHash('md5').update('password ciphertext v2').digest('hex')}"`);
  }, TERRAFORM_TIMEOUT_MS);

  it('destroys everything: the bucket and role are gone and the key is pending deletion', async () => {
    const destroy = await stack.terraform('destroy', '-auto-approve', '-input=false');
    expect(destroy.stdout).toContain('Destroy complete! Resources: 14 destroyed.');
    const aws = stack.local.clients();
    await expect(aws.s3.send(new HeadBucketCommand({ Bucket: BUCKET }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await expect(stack.local.iam().send(new GetRoleCommand({ RoleName: 'tf-local-api-task' }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    const { Keys } = await aws.kms.send(new ListKeysCommand({}));
    const { KeyMetadata } = await aws.kms.send(new DescribeKeyCommand({ KeyId: Keys![0]!.KeyId }));
    expect(KeyMetadata!.KeyState).toBe('PendingDeletion');
  }, TERRAFORM_TIMEOUT_MS);

  it('applies a noncurrent-version lifecycle rule, then plans no changes', async () => {
    const apply = await lifecycleApplied;
    expect(apply.stdout).toContain('Apply complete! Resources: 3 added, 0 changed, 0 destroyed.');
    const { Rules } = await lifecycle.local.clients().s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: LIFECYCLE_BUCKET }));
    expect(Rules).toMatchObject([{ ID: 'noncurrent-versions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }]);
    expect((await lifecycle.terraform('plan', '-detailed-exitcode', '-input=false')).code).toBe(0);
  }, TERRAFORM_TIMEOUT_MS);
});

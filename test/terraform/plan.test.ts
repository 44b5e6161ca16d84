import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cdktfInvocation, runCdktf, type CdktfRun } from '../../scripts/cdktf.ts';
import { ADMINISTERED, fakeCiphertext, makeProject, type TestProject } from '../support/project.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const noAws = envWithoutAws();

interface PlannedChange { type: string; change: { actions: string[]; after: Record<string, unknown> } }

/** `terraform show -json` of the plan cdktf saved for a stack. */
function showPlan(project: TestProject, stack: string): { resource_changes: PlannedChange[] } {
  const { env } = cdktfInvocation(project.root, ['plan'], noAws);
  const shown = spawnSync('terraform', ['show', '-json', 'plan'], { cwd: join(project.root, 'cdktf.out', 'stacks', stack), env, encoding: 'utf8' });
  expect(shown.status, shown.stderr).toBe(0);
  return JSON.parse(shown.stdout);
}

describeWithTerraform('cdktf plan, for real and offline, with no AWS credentials', () => {
  let project: TestProject;
  let plan: CdktfRun;

  beforeAll(async () => {
    project = makeProject({
      app: true,
      files: {
        'secrets/staging/api/db-password': fakeCiphertext('kms'),
        'secrets/staging/api/tls.crt': fakeCiphertext('envelope', 6000),
        'secrets/staging/web/session-key': fakeCiphertext('kms'),
        'secrets/production/api/db-password': fakeCiphertext('kms'),
      },
      settings: ADMINISTERED,
    });
    plan = await runCdktf(project.root, ['plan', 'staging', '--var', 'offline_plan=true'], noAws);
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(() => project?.remove());

  it('plans the staging stack without any AWS credential in the environment', () => {
    expect(Object.keys(noAws).filter((key) => key.startsWith('AWS_ACCESS') || key.startsWith('AWS_SECRET'))).toEqual([]);
    expect(plan.code, plan.output).toBe(0);
    expect(plan.output).toMatch(/Plan: 24 to add, 0 to change, 0 to destroy/);
  });

  it('plans the key with rotation, its alias and the bucket', () => {
    const changes = showPlan(project, 'staging').resource_changes;
    const after = (type: string) => changes.filter((c) => c.type === type).map((c) => c.change.after);
    expect(after('aws_kms_key')).toEqual([expect.objectContaining({ enable_key_rotation: true })]);
    expect(after('aws_kms_alias')).toEqual([expect.objectContaining({ name: 'alias/kms-secrets/staging' })]);
    expect(after('aws_s3_bucket')).toEqual([expect.objectContaining({ bucket: 'kms-secrets-staging-secrets' })]);
    expect(changes.every((c) => c.change.actions.join() === 'create')).toBe(true);
  });

  it('plans one object per staging file, keyed <service>/<name>, with the file\'s MD5 as etag', () => {
    const objects = showPlan(project, 'staging').resource_changes.filter((c) => c.type === 'aws_s3_object').map((c) => c.change.after)
      .filter((o) => !String(o.key).startsWith('.declared/'));
    const md5 = (path: string) => createHash('md5').update(readFileSync(join(project.root, 'secrets/staging', path))).digest('hex');
    expect(objects.map((o) => [o.key, o.etag]).sort()).toEqual([
      ['api/db-password', md5('api/db-password')],
      ['api/tls.crt', md5('api/tls.crt')],
      ['web/session-key', md5('web/session-key')],
    ]);
  });

  // The plaintext scan over real ciphertext, state and plan is in local-deploy.test.ts; here no file's
  // bytes may be inlined at all: objects are uploaded from their source files.
  it('synthesizes and plans no KMS decryption and no file content', () => {
    const synthesized = readFileSync(join(project.root, 'cdktf.out/stacks/staging/cdk.tf.json'), 'utf8');
    const shown = JSON.stringify(showPlan(project, 'staging'));
    const content = readFileSync(join(project.root, 'secrets/staging/api/db-password'));
    for (const text of [synthesized, shown, plan.output]) {
      expect(text).not.toMatch(/aws_kms_secrets|aws_kms_ciphertext/);
      expect(text).not.toContain(content.toString('base64'));
      expect(text).not.toContain(content.toString('hex'));
    }
  });

  it('refuses `cdktf plan production --var env=staging`, naming both environments', async () => {
    const wrong = await runCdktf(project.root, ['plan', 'production', '--var', 'env=staging', '--var', 'offline_plan=true'], noAws);
    expect(wrong.code).not.toBe(0);
    expect(wrong.output.replace(/\s+/g, ' ')).toMatch(/This is the "production" stack, but env is "staging"/);
  }, TERRAFORM_TIMEOUT_MS);
});

describeWithTerraform('cdktf deploy --var env=<env> on a one-environment tree', () => {
  it('plans without error and reaches the apply step', async () => {
    const project = makeProject({ app: true, files: { 'secrets/staging/api/db-password': fakeCiphertext('kms') }, settings: ADMINISTERED });
    try {
      // No terminal to approve on: cdktf stops at its approval prompt, which is the apply step. Its
      // interactive menu reads "Approve  Applies the changes…"; under CI=true it asks Terraform's question.
      const deploy = await runCdktf(project.root, ['deploy', '--var', 'env=staging', '--var', 'offline_plan=true'], noAws);
      expect(deploy.output).toMatch(/Plan: 18 to add, 0 to change, 0 to destroy/);
      expect(deploy.output).toMatch(/Approve\s+Applies the changes outlined in the plan|Do you want to perform these actions\?/);
    } finally {
      project.remove();
    }
  }, TERRAFORM_TIMEOUT_MS);
});

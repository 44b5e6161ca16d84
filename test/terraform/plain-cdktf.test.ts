/**
 * The commands as README and a user write them — `cdktf plan staging`, with the cdktf CLI itself, no
 * `npm run cdktf` wrapper and no CLI config of ours — work offline where a provider mirror is installed:
 * the synth app links each stack's terraform.d/plugins to the mirror and writes the lock file `terraform
 * init` would, so neither init nor cdktf's `providers lock` asks the registry.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findProviderMirror } from '../../scripts/terraform-offline.ts';
import { ADMINISTERED, fakeCiphertext, makeProject, type TestProject } from '../support/project.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

describeWithTerraform('plain cdktf, offline, with a provider mirror', () => {
  let project: TestProject;
  let plan: { status: number | null; output: string };
  const mirror = findProviderMirror();

  beforeAll(() => {
    if (!mirror) throw new Error('no hashicorp/aws provider mirror found (TF_PROVIDER_MIRROR, /opt, ~/.terraform.d/plugins, …): these tests need one');
    project = makeProject({ app: true, files: { 'secrets/staging/api/db-password': fakeCiphertext('kms') }, settings: ADMINISTERED });
    // As the machines here have it: a CLI config file that does not exist, and no mirror configured anywhere.
    const env = envWithoutAws({ TF_CLI_CONFIG_FILE: join(project.root, 'no-such.terraformrc') });
    delete env.TF_PROVIDER_MIRROR;
    const cdktf = join(project.root, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf');
    const run = spawnSync(process.execPath, [cdktf, 'plan', 'staging', '--var', 'offline_plan=true'], { cwd: project.root, env, encoding: 'utf8' });
    plan = { status: run.status, output: stripVTControlCharacters(`${run.stdout}${run.stderr}`) };
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(() => project?.remove());

  it('plans, with the provider from the mirror and no registry', () => {
    expect(plan.status, plan.output.slice(-3000)).toBe(0);
    expect(plan.output).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy/);
    expect(plan.output).not.toMatch(/registry\.terraform\.io: failed to request discovery/);
  });

  it('the stack folder links terraform.d/plugins to the mirror and holds the lock file of the mirror\'s package', () => {
    const stack = join(project.root, 'cdktf.out', 'stacks', 'staging');
    expect(readlinkSync(join(stack, 'terraform.d', 'plugins'))).toBe(mirror);
    expect(existsSync(join(stack, '.terraform.lock.hcl'))).toBe(true);
    expect(readFileSync(join(stack, '.terraform.lock.hcl'), 'utf8')).toMatch(/version {5}= "5\.100\.0"[\s\S]*"h1:[A-Za-z0-9+/]{43}="/);
  });
});

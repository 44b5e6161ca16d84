/**
 * AWS provider 6 readiness, as far as these machines can show it (no 6.x provider binary here, so nothing is
 * planned with it): the stacks type-check against CDK Terrain's 6.x bindings, and what they synthesize with those
 * bindings is what they synthesize with the 5.100 ones, but for the provider version the stack requires.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_24 } from '../support/node-versions.ts';
import { ENV_SHAPE_NAMES, EVERY_ENV_SHAPE, writeEnvShapeSecrets } from '../support/env-shapes.ts';
import { makeProject, REPO_ROOT, type TestProject } from '../support/project.ts';
import { PROVIDER_AWS_6 } from '../support/provider-aws-6.ts';
import { envWithoutAws } from '../support/terraform.ts';

const SETTINGS = { toolchain: 'cdktn', environments: EVERY_ENV_SHAPE };
/** Node imports this first: `@cdktf/provider-aws` then names the 6.x bindings. */
const SIX_X_BINDINGS = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) {
  const bindings = /^@cdktf\\/provider-aws(\\/.*)?$/.exec(specifier);
  return next(bindings ? ${JSON.stringify(PROVIDER_AWS_6)} + (bindings[1] ?? '') : specifier, context);
} });
`)}`;

describe('AWS provider 6 readiness: @cdktn/provider-aws 25.7 (provider 6.66) under CDK Terrain, type-checked and synthesized', () => {
  let project: TestProject | undefined;
  afterAll(() => project?.remove());

  it('the app and the stacks type-check against the 6.x bindings, with cdktn as their core', () => {
    const check = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.provider-6.json', '--listFiles'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(check.status, check.stdout).toBe(0);
    const files = check.stdout.split('\n');
    expect(files.filter((file) => file.startsWith(`${PROVIDER_AWS_6}/lib/`)).length).toBeGreaterThanOrEqual(15);
    expect(files.filter((file) => /node_modules\/(cdktf|@cdktf\/provider-aws)\//.test(file))).toEqual([]);
  });

  it('synthesizes the same JSON with the 6.x bindings as with the 5.100 ones, but for the required provider version', () => {
    project = makeProject({ app: true, settings: SETTINGS });
    writeEnvShapeSecrets(project);
    const synth = (outdir: string, extraImports: string[]) => {
      const run = spawnSync(NODE_24, [...extraImports, '--import', 'tsx', 'main.ts'], {
        cwd: project!.root, encoding: 'utf8', env: envWithoutAws({ CDKTF_OUTDIR: outdir, AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }),
      });
      expect(run.status, run.stderr).toBe(0);
      return (env: string) => JSON.parse(readFileSync(join(project!.root, outdir, 'stacks', env, 'cdk.tf.json'), 'utf8'));
    };
    const with5 = synth('out-5', []);
    const with6 = synth('out-6', ['--import', SIX_X_BINDINGS]);
    for (const env of ENV_SHAPE_NAMES) {
      const [five, six] = [with5(env), with6(env)];
      expect(five.terraform.required_providers.aws).toEqual({ source: 'aws', version: '5.100.0' });
      expect(six.terraform.required_providers.aws).toEqual({ source: 'hashicorp/aws', version: '6.66.0' });
      for (const stack of [five, six]) delete stack.terraform.required_providers.aws;
      expect(six).toEqual(five);
    }
  });
});

/**
 * The package as another team installs it: `npm pack` (which builds dist/), its contents checked, then
 * unpacked into a cdktf app of their own that composes `SecretsEnvironment` with its own task role and an
 * ECS task definition. The app type-checks against the package's declarations, synthesizes, and plans
 * offline with the real Terraform; the packaged CLI and runtime library load from the compiled files. The
 * same app synthesizes the same Terraform under CDK Terrain (cdktn), the continuation of the archived cdktf.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runTerraform } from '../../scripts/terraform.ts';
import { findProviderMirror, linkProviderMirror, writeProviderLock } from '../../scripts/terraform-offline.ts';
import { fakeCiphertext, REPO_ROOT } from '../support/project.ts';
import { describeWithTerraform, envWithoutAws, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const APP_MAIN = `import { App, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { loadEnvironment, SecretsEnvironment } from 'kms-secrets';

const app = new App();
const stack = new TerraformStack(app, 'production');
// Offline: a plan of resources that do not exist yet asks AWS nothing.
new AwsProvider(stack, 'aws', {
  region: 'eu-west-1', accessKey: 'offline', secretKey: 'offline',
  skipCredentialsValidation: true, skipRequestingAccountId: true, skipMetadataApiCheck: 'true',
});

// The team's own task role, with whatever else its app needs; the secrets are granted to it.
const secrets = new SecretsEnvironment(stack, 'secrets', { ...(await loadEnvironment('.', 'production')), createTaskRoles: false });
const taskRole = new IamRole(stack, 'api-task', {
  name: 'api-task',
  assumeRolePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
});
secrets.grantRead(taskRole, 'api');
// Never called: it proves that the declarations are read (with "any" types the directive would be unused).
// @ts-expect-error: grantRead needs the service
export const wrong = () => secrets.grantRead(taskRole);

new EcsTaskDefinition(stack, 'api', {
  family: 'api',
  taskRoleArn: taskRole.arn,
  containerDefinitions: JSON.stringify([{
    name: 'api', image: 'api:latest', essential: true, memory: 512,
    entryPoint: ['kms-secrets', 'exec', '--'], command: ['node', 'server.js'],
    environment: [
      { name: 'SECRETS_BUCKET', value: secrets.bucket.bucketName },
      { name: 'SECRETS_ENV', value: secrets.env },
      { name: 'SECRETS_SERVICES', value: 'api' },
    ],
  }]),
});
app.synth();
`;

/** `terraform init` and `plan` of the app's synthesized stack, offline with the provider mirror; the plan's text. */
async function planOffline(appDir: string): Promise<string> {
  const stackDir = join(appDir, 'cdktf.out', 'stacks', 'production');
  const mirror = findProviderMirror();
  if (!mirror) throw new Error('no hashicorp/aws provider mirror found: this test needs one');
  linkProviderMirror(stackDir, mirror);
  await writeProviderLock(stackDir, mirror);
  const env = envWithoutAws();
  const init = await runTerraform(appDir, stackDir, ['init', '-input=false'], { output: 'capture', env });
  expect(init.code, init.stdout + init.stderr).toBe(0);
  const plan = await runTerraform(appDir, stackDir, ['plan', '-input=false', '-no-color'], { output: 'capture', env });
  expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  return plan.stdout;
}

describeWithTerraform('kms-secrets as a package, in a cdktf app of another team', () => {
  let scratch: string;
  let app: string;
  let packedFiles: string[];
  let synthesized: { resource: Record<string, Record<string, Record<string, unknown>>> };
  const run = (command: string, args: string[], cwd = app, env: NodeJS.ProcessEnv = process.env) => {
    const result = spawnSync(command, args, { cwd, env, encoding: 'utf8' });
    return { code: result.status, output: `${result.stdout}${result.stderr}`, stdout: result.stdout };
  };

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'kms-secrets-package-'));
    const pack = run('npm', ['pack', '--json', '--pack-destination', scratch], REPO_ROOT);
    expect(pack.code, pack.output).toBe(0);
    const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    packedFiles = packed!.files.map((file) => file.path).sort();

    // Installed as npm would: the package unpacked into node_modules, its dependencies beside it.
    app = join(scratch, 'app');
    const modules = join(app, 'node_modules');
    mkdirSync(join(modules, 'kms-secrets'), { recursive: true });
    const unpack = run('tar', ['-xzf', join(scratch, packed!.filename), '-C', join(modules, 'kms-secrets'), '--strip-components=1'], scratch);
    expect(unpack.code, unpack.output).toBe(0);
    for (const entry of readdirSync(join(REPO_ROOT, 'node_modules'))) {
      if (!entry.startsWith('.')) symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(modules, entry));
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'team-app', private: true, type: 'module' }));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true, types: ['node'] }, files: ['main.ts'] }));
    writeFileSync(join(app, 'main.ts'), APP_MAIN);
    mkdirSync(join(app, 'secrets', 'production', 'api'), { recursive: true });
    writeFileSync(join(app, 'secrets', 'production', 'api', 'db-password'), fakeCiphertext('kms'));
    // An env on AWS names who administers it.
    writeFileSync(join(app, 'kms-secrets.json'), JSON.stringify({ environments: { production: { keyAdministrators: ['arn:aws:iam::111122223333:role/platform-admin'] } } }));
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('packs the compiled constructs, runtime library, runtime bundle and CLI; no tests, secrets, state, caches or TypeScript sources', () => {
    expect(packedFiles).toEqual(expect.arrayContaining([
      'LICENSE', 'README.md', 'package.json', 'bin/kms-secrets.js',
      'dist/stacks/index.js', 'dist/stacks/index.d.ts', 'dist/runtime/index.js', 'dist/runtime/index.d.ts',
      'dist/scripts/cli.js', 'dist/kms-secrets-runtime.mjs',
    ]));
    expect(packedFiles.filter((path) => !path.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json', 'bin/kms-secrets.js'].includes(path))).toEqual([]);
    expect(packedFiles.filter((path) => /(^|\/)(test|secrets|state|\.cache|cdktf\.out|node_modules|bench|local|examples)\//.test(path))).toEqual([]);
    expect(packedFiles.filter((path) => /\.ts$/.test(path) && !path.endsWith('.d.ts'))).toEqual([]);
    expect(packedFiles.filter((path) => /tfstate|\.tfplan$|kms-secrets\.json$/.test(path))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>>; private?: boolean };
    expect(manifest.private).toBeUndefined();
    const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
    expect(targets.map((target) => target.replace(/^\.\//, '')).filter((target) => !packedFiles.includes(target))).toEqual([]);
  });

  it('its TypeScript app type-checks against the package\'s declarations', () => {
    const check = run(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']);
    expect(check.code, check.output).toBe(0);
  });

  it('synthesizes: the team\'s role gets the read policy and is named in the key policy; the task definition carries that role; no role of ours', () => {
    const synth = run(process.execPath, [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'main.ts']);
    expect(synth.code, synth.output).toBe(0);
    synthesized = JSON.parse(readFileSync(join(app, 'cdktf.out', 'stacks', 'production', 'cdk.tf.json'), 'utf8'));
    const { resource } = synthesized;
    expect(Object.values(resource.aws_iam_role!).map((role) => role.name)).toEqual(['api-task']);
    const readPolicy = Object.entries(resource.aws_iam_policy!).find(([, policy]) => policy.name === 'kms-secrets-production.read-api')!;
    expect(Object.values(resource.aws_iam_role_policy_attachment!)).toEqual([
      expect.objectContaining({ role: '${aws_iam_role.api-task.name}', policy_arn: `\${aws_iam_policy.${readPolicy[0]}.arn}` }),
    ]);
    const keyPolicy = String(Object.values(resource.aws_kms_key_policy!)[0]!.policy);
    expect(keyPolicy).toMatch(/"Sid":"TaskRole1DecryptsOwnService".*"Principal":\{"AWS":"\$\{aws_iam_role\.api-task\.arn\}"\}/);
    expect(resource.aws_ecs_task_definition!.api!.task_role_arn).toBe('${aws_iam_role.api-task.arn}');
  });

  it('plans offline with the real Terraform and the AWS provider from the mirror', async () => {
    const plan = await planOffline(app);
    expect(plan).toMatch(/# aws_ecs_task_definition\.api will be created/);
    expect(plan).toMatch(/# aws_s3_object\.secrets_objects_api_db-password_\w+ will be created/);
    expect(plan).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy/);
  }, TERRAFORM_TIMEOUT_MS);

  it('synthesizes the same under CDK Terrain (cdktn 0.24) with the 5.100 provider bindings, cdktf resolving to cdktn as an npm override does', () => {
    // As an npm override ("cdktf": "npm:cdktn@0.24.0") installs it; symbolic links kept as paths, so that the
    // package and the provider bindings find cdktf here, where it is cdktn.
    const terrain = join(scratch, 'cdktn-app');
    const modules = join(terrain, 'node_modules');
    mkdirSync(modules, { recursive: true });
    for (const entry of readdirSync(join(app, 'node_modules'))) {
      const target = entry === 'cdktf' ? join(REPO_ROOT, 'node_modules', 'cdktn') : join(app, 'node_modules', entry);
      symlinkSync(target, join(modules, entry));
    }
    for (const file of ['package.json', 'main.ts', 'secrets', 'kms-secrets.json']) cpSync(join(app, file), join(terrain, file), { recursive: true });
    const synth = run(process.execPath, ['--preserve-symlinks', join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'main.ts'], terrain, { ...process.env, NODE_OPTIONS: '--preserve-symlinks' });
    expect(synth.code, synth.output).toBe(0);
    // The state's path is the app's folder: the same app, in another folder.
    const underTerrain = JSON.parse(readFileSync(join(terrain, 'cdktf.out', 'stacks', 'production', 'cdk.tf.json'), 'utf8').replaceAll(terrain, app));
    expect(underTerrain['//'].metadata.version, 'synthesized by cdktn').toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'cdktn', 'package.json'), 'utf8')).version);
    // The same Terraform JSON but for the version that made it: what planned above plans the same (a project's own
    // app under cdktn is deployed and planned for real in cdk-terrain.test.ts).
    const withoutVersion = (stack: { '//': { metadata: object } }) => ({ ...stack, '//': { ...stack['//'], metadata: { ...stack['//'].metadata, version: undefined } } });
    expect(withoutVersion(underTerrain)).toEqual(withoutVersion(synthesized as never));
  }, TERRAFORM_TIMEOUT_MS);

  it('the packaged CLI runs from its compiled files, and the runtime library imports', () => {
    const verify = run(process.execPath, [join(app, 'node_modules', 'kms-secrets', 'bin', 'kms-secrets.js'), 'verify']);
    expect(verify.code, verify.output).toBe(0);
    expect(verify.output).toMatch(/1 secret/);
    const library = run(process.execPath, ['--input-type=module', '-e', "const { loadSecrets } = await import('kms-secrets/runtime'); process.exit(typeof loadSecrets === 'function' ? 0 : 1);"]);
    expect(library.code, library.output).toBe(0);
  });
});

/**
 * The toolchain switch: kms-secrets.json's "toolchain" chooses the core the app synthesizes with and the CLI
 * `npm run cdktf` runs; CDK Terrain needs Node 22.19 or later, and another Node is refused with what to run instead.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SettingsError } from '../../lib/errors.ts';
import { assertCdktfNativeModule, assertNodeFor, toolchainCli } from '../../lib/toolchain.ts';
import { cdktfInvocation } from '../../scripts/cdktf.ts';
import { fakeCiphertext, makeProject, REPO_ROOT, type TestProject } from '../support/project.ts';
import { ENV_SHAPE_NAMES, EVERY_ENV_SHAPE, writeEnvShapeSecrets } from '../support/env-shapes.ts';
import { NODE_24 } from '../support/node-versions.ts';

const [APP_COMMAND, ...APP_ARGS] = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdktf.json'), 'utf8')) as { app: string }).app.split(' ');
/** Node 24 imports this first: it reports on exit which of the two cores the process loaded. */
const CORES_LOADED = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
const cores = new Set();
registerHooks({ load(url, context, next) { const core = /node_modules\\/(cdktf|cdktn)\\//.exec(url); if (core) cores.add(core[1]); return next(url, context); } });
process.on('exit', () => process.stderr.write('cores loaded: ' + [...cores].sort().join(',') + '\\n'));
`)}`;

function cdktnRunsHere(): boolean {
  try {
    assertNodeFor('cdktn');
    return true;
  } catch {
    return false;
  }
}

describe('which Node each toolchain runs on', () => {
  it.each([
    ['cdktf', '20.6.0'], ['cdktf', '24.22.3'], ['cdktn', '22.19.0'], ['cdktn', '23.5.0'], ['cdktn', '24.22.3'], ['cdktn', '25.0.0'],
  ] as const)('%s runs on Node %s', (toolchain, version) => {
    expect(() => assertNodeFor(toolchain, version)).not.toThrow();
  });

  // 23.0 to 23.4 lack module.registerHooks, which makes cdktf name cdktn.
  it.each([['cdktf', '20.5.1'], ['cdktn', '20.20.2'], ['cdktn', '22.18.0'], ['cdktn', '23.4.0']] as const)('%s is refused on Node %s, naming both versions and the way out', (toolchain, version) => {
    expect(() => assertNodeFor(toolchain, version)).toThrow(SettingsError);
    expect(() => assertNodeFor(toolchain, version)).toThrow(`this project's toolchain is ${toolchain} (kms-secrets.json "toolchain"), which needs Node `);
    expect(() => assertNodeFor(toolchain, version)).toThrow(`this is Node ${version}`);
  });

  it('the CLI run by another Node puts that Node first on PATH through a folder holding only it: terraform stays what PATH finds', () => {
    const project = makeProject({ app: true, settings: { toolchain: 'cdktn' } });
    try {
      const { command, env } = cdktfInvocation(project.root, ['synth'], { PATH: '/usr/local/bin:/usr/bin:/bin' }, { node: NODE_24 });
      const [first, ...rest] = env.PATH!.split(':');
      expect(command).toBe(NODE_24);
      expect(readdirSync(first!)).toEqual(['node']);
      expect(realpathSync(join(first!, 'node'))).toBe(realpathSync(NODE_24));
      expect(rest).toEqual(['/usr/local/bin', '/usr/bin', '/bin']);
      expect(cdktfInvocation(project.root, ['synth'], { PATH: `${join(NODE_24, '..')}:/usr/bin` }, { node: NODE_24 }).env.PATH).toBe(`${join(NODE_24, '..')}:/usr/bin`);
    } finally {
      project.remove();
    }
  });

  it('each toolchain\'s CLI is installed with the project', () => {
    expect(toolchainCli(REPO_ROOT, 'cdktf')).toBe(join(REPO_ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf'));
    expect(toolchainCli(REPO_ROOT, 'cdktn')).toBe(join(REPO_ROOT, 'node_modules', 'cdktn-cli', 'bundle', 'bin', 'cdktn.js'));
    expect(() => toolchainCli('/', 'cdktn')).toThrow(/cdktn-cli is not installed in \//);
  });
});

describe('cdktf-cli\'s native module, whose prebuilt binaries stop at Node 22', () => {
  let scratch: string;
  let cli: string;
  beforeAll(() => {
    // An install of cdktf-cli where nothing was built: the module's package as published, without build/.
    scratch = mkdtempSync(join(tmpdir(), 'kms-secrets-pty-'));
    cli = join(scratch, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf');
    mkdirSync(join(cli, '..'), { recursive: true });
    writeFileSync(cli, '');
    const published = join(REPO_ROOT, 'node_modules', '@cdktf', 'node-pty-prebuilt-multiarch');
    cpSync(published, join(scratch, 'node_modules', '@cdktf', 'node-pty-prebuilt-multiarch'), { recursive: true, filter: (path) => !path.startsWith(join(published, 'build')) });
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.skipIf(Number(process.versions.modules) > 127)('on this Node 20 a prebuilt binary loads: nothing to say', () => {
    expect(() => assertCdktfNativeModule(cli)).not.toThrow();
  });

  it('on Node 24 without a build: refused before cdktf-cli crashes, naming the module, the Node and both ways out', () => {
    const check = spawnSync(NODE_24, ['--import', 'tsx', '--input-type=module', '-e', `
      const { assertCdktfNativeModule } = await import(${JSON.stringify(join(REPO_ROOT, 'lib', 'toolchain.ts'))});
      try { assertCdktfNativeModule(${JSON.stringify(cli)}); } catch (error) { process.stderr.write(error.message + '\\n' + error.hint); process.exit(2); }
    `], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(2);
    expect(check.stderr).toMatch(/^cdktf-cli cannot start on Node 24\.\d+\.\d+: its native module @cdktf\/node-pty-prebuilt-multiarch 0\.10\.2 has no prebuilt binary for this Node \(ABI 137\), and no build of it loads here\n/);
    expect(check.stderr).toContain('npm rebuild @cdktf/node-pty-prebuilt-multiarch');
    expect(check.stderr).toContain('"toolchain": "cdktn"');
    expect(check.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('the app under each toolchain', () => {
  let project: TestProject;
  afterEach(() => project?.remove());

  function synth(toolchain: 'cdktf' | 'cdktn', node: string) {
    project = makeProject({ app: true, settings: { toolchain, environments: { staging: { region: 'eu-west-1', keyAdministrators: ['arn:aws:iam::111122223333:role/kms-admin'] } } } });
    project.write('secrets/staging/api/password', fakeCiphertext('kms'));
    // The app command of cdktf.json, with `node` being the Node given.
    const run = spawnSync(node, ['--import', CORES_LOADED, ...APP_ARGS], { cwd: project.root, encoding: 'utf8', env: { ...process.env, CDKTF_OUTDIR: 'cdktf.out' } });
    const synthesized = () => JSON.parse(readFileSync(join(project.root, 'cdktf.out', 'stacks', 'staging', 'cdk.tf.json'), 'utf8'));
    return { run, synthesized };
  }

  it('"toolchain": "cdktn" on Node 24: cdktn builds the whole app, the provider bindings included; cdktf is never loaded', () => {
    const { run, synthesized } = synth('cdktn', NODE_24);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('cores loaded: cdktn\n');
    expect(synthesized()['//'].metadata.version).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'cdktn', 'package.json'), 'utf8')).version);
    expect(synthesized().terraform.required_providers.aws.version).toBe('5.100.0');
  });

  it('every env shape synthesizes the same Terraform JSON under cdktn (Node 24) as under cdktf (Node 20), but for the version that made it', () => {
    project = makeProject({ app: true });
    writeEnvShapeSecrets(project);
    const synthesized = (toolchain: 'cdktf' | 'cdktn', node: string) => {
      project!.write('kms-secrets.json', JSON.stringify({ toolchain, environments: EVERY_ENV_SHAPE }));
      const run = spawnSync(node, APP_ARGS, { cwd: project!.root, encoding: 'utf8', env: { ...process.env, CDKTF_OUTDIR: `out-${toolchain}`, AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' } });
      expect(run.status, run.stderr).toBe(0);
      return (env: string) => {
        const stack = JSON.parse(readFileSync(join(project!.root, `out-${toolchain}`, 'stacks', env, 'cdk.tf.json'), 'utf8'));
        return { version: stack['//'].metadata.version as string, stack: { ...stack, '//': { ...stack['//'], metadata: { ...stack['//'].metadata, version: undefined } } } };
      };
    };
    const [underCdktf, underCdktn] = [synthesized('cdktf', process.execPath), synthesized('cdktn', NODE_24)];
    for (const env of ENV_SHAPE_NAMES) {
      expect([underCdktf(env).version, underCdktn(env).version]).toEqual(['0.21.0', '0.24.0']);
      expect(underCdktn(env).stack).toEqual(underCdktf(env).stack);
    }
  });

  it('"toolchain": "cdktf" (the default) on Node 24 as on Node 20: cdktf alone', () => {
    const { run, synthesized } = synth('cdktf', NODE_24);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('cores loaded: cdktf\n');
    expect(synthesized()['//'].metadata.version).toBe('0.21.0');
  });

  it('"toolchain": "cdktn" where cdktn is not installed: says what to install, without a stack trace', () => {
    project = makeProject({ app: true, settings: { toolchain: 'cdktn' } });
    mkdirSync(join(project.root, 'secrets', 'staging'));
    // The project's own node_modules, every package but cdktn.
    rmSync(join(project.root, 'node_modules'));
    mkdirSync(join(project.root, 'node_modules'));
    for (const entry of readdirSync(join(REPO_ROOT, 'node_modules')).filter((name) => name !== 'cdktn' && !name.startsWith('.'))) {
      symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(project.root, 'node_modules', entry));
    }
    const run = spawnSync(NODE_24, APP_ARGS, { cwd: project.root, encoding: 'utf8', env: { ...process.env, CDKTF_OUTDIR: 'cdktf.out' } });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('kms-secrets: this project\'s toolchain is cdktn, but its core library, cdktn, is not installed\nhint: run npm install --save-dev cdktn\n');
  });

  it.skipIf(cdktnRunsHere())('"toolchain": "cdktn" on this Node 20: the app and npm run cdktf say which Node it needs, before anything runs', () => {
    project = makeProject({ app: true, settings: { toolchain: 'cdktn' } });
    mkdirSync(join(project.root, 'secrets', 'staging'));
    const app = spawnSync(APP_COMMAND!, APP_ARGS, { cwd: project.root, encoding: 'utf8', env: { ...process.env, CDKTF_OUTDIR: 'cdktf.out' } });
    expect(app.status).toBe(1);
    expect(app.stderr).toBe(`kms-secrets: this project's toolchain is cdktn (kms-secrets.json "toolchain"), which needs Node 22.19 or later (23.5 or later on Node 23); this is Node ${process.versions.node}\n`
      + 'hint: run it with Node 22.19 or later (Node 24 is the current LTS line), or set "toolchain": "cdktf" to keep CDK for Terraform\n');

    const wrapper = spawnSync(process.execPath, ['--import', 'tsx', join(project.root, 'scripts', 'cdktf.ts'), 'synth'], { cwd: project.root, encoding: 'utf8' });
    expect(wrapper.status).toBe(2);
    expect(wrapper.stderr).toBe(app.stderr);
  });
});

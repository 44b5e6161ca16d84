/** What cdktf runs (the app command of cdktf.json): a bad tree or settings file is its message, not a stack trace. */
import { spawnSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { makeProject, REPO_ROOT, type TestProject } from '../support/project.ts';

let project: TestProject | undefined;
afterEach(() => project?.remove());

const [APP_COMMAND, ...APP_ARGS] = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdktf.json'), 'utf8')) as { app: string }).app.split(' ');

function synthApp(root: string, env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: 'cdktf.out' }) {
  return spawnSync(APP_COMMAND!, APP_ARGS, { cwd: root, encoding: 'utf8', env });
}

test('a plaintext file in the tree: the problem, the file and the hint, and exit 1', () => {
  project = makeProject({ app: true, files: { 'secrets/staging/api/password': 'MARKER-plain-value' } });
  const run = synthApp(project.root);

  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/^kms-secrets: the secrets tree has 1 problem:\n {2}secrets\/staging\/api\/password: not ciphertext/);
  expect(run.stderr).toContain('hint: secrets/ holds only ciphertext files');
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr).not.toContain('MARKER-plain-value');
});

test('a broken settings file: its problem, and exit 1', () => {
  project = makeProject({ app: true });
  project.write('kms-secrets.json', '{ "defaultEnv": ');
  const run = synthApp(project.root);

  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/^kms-secrets: .*kms-secrets\.json/);
  expect(run.stderr).not.toMatch(/^\s+at /m);
});

test('a local env without a local endpoint: the problem and how to start one, and exit 1', () => {
  project = makeProject({ app: true, settings: { environments: { demo: { local: true } } } });
  mkdirSync(join(project.root, 'secrets', 'demo'));
  const run = synthApp(project.root, withoutEndpoint());

  expect(run.status).toBe(1);
  expect(run.stderr).toContain('kms-secrets: env "demo" is marked local, but no local endpoint is known\nhint: start it with `npm run local`');
  expect(run.stderr).not.toMatch(/^\s+at /m);
});

function withoutEndpoint(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_ENDPOINT_URL')));
}

test('no provider mirror and no way to the registry: one line says so, and what to do', async () => {
  project = makeProject({ app: true, settings: { environments: { staging: { region: 'eu-west-1', keyAdministrators: ['arn:aws:iam::111122223333:role/kms-admin'] } } } });
  mkdirSync(join(project.root, 'secrets', 'staging'));
  const run = synthApp(project.root, { ...process.env, TF_PROVIDER_MIRROR: 'none' });
  const registryReachable = await lookup('registry.terraform.io').then(() => true, () => false);

  expect(run.status, run.stderr).toBe(0);
  const line = 'kms-secrets: Terraform needs hashicorp/aws 5.100.0, and there is neither a provider mirror';
  // Where the registry can be reached (not on these machines) nothing is said.
  if (registryReachable) expect(run.stderr).not.toContain(line);
  else expect(run.stderr).toContain(`${line} (TF_PROVIDER_MIRROR, /opt, ~/.terraform.d/plugins, …) nor a way to registry.terraform.io: install a filesystem mirror and set TF_PROVIDER_MIRROR`);
});

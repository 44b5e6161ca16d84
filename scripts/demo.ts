/**
 * `npm run demo`: the whole system on the embedded local AWS endpoint, in a throw-away copy of the project.
 * Encrypt → real `cdktf deploy` → `kms-secrets exec` as the service's task role → the CI principal plans but
 * cannot decrypt. Secret values are random; only names, sizes and fingerprints are ever printed.
 */
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { awsClients } from '../lib/aws.ts';
import { envVarName } from '../lib/naming.ts';
import { ACCOUNT_ID, ecsTaskCredentialsUrl, start, terraformProviderEnv } from '../local/index.ts';
import { iamName } from '../stacks/iam-names.ts';
import { runCdktf } from './cdktf.ts';
import { findProviderMirror } from './terraform-offline.ts';
import { copyApp } from './workspace.ts';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENV = 'demo';
const SERVICE = 'api';

export interface DemoSecret {
  readonly name: string;
  readonly value: Buffer;
}

export interface DemoOptions {
  /** The values to encrypt. @default three random ones, one of them a 5,000-byte certificate */
  readonly secrets?: readonly DemoSecret[];
  /** Where the step-by-step report goes. @default stdout */
  readonly write?: (line: string) => void;
  /** Keep the throw-away project (tests scan it). @default false */
  readonly keepWorkspace?: boolean;
}

export interface DemoResult {
  readonly workspace: string;
  /** What the sample service printed: one line per variable, name, length and fingerprint. */
  readonly serviceReport: string;
  readonly ciPlanSucceeded: boolean;
  readonly ciDecryptDenied: boolean;
  readonly seconds: number;
}

export class DemoError extends Error {}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const secrets = options.secrets ?? randomSecrets();
  const started = performance.now();
  requireTerraform();

  const workspace = mkdtempSync(join(tmpdir(), 'kms-secrets-demo-'));
  const endpoint = await start({ dir: join(workspace, '.local-aws') });
  const steps = stepper(write, 7);
  // Ctrl-C (or a stop) leaves nothing behind: the throw-away folder, with the endpoint's state, goes too.
  const onSignal = (signal: NodeJS.Signals) => {
    for (const other of STOP_SIGNALS) process.off(other, onSignal);
    if (!options.keepWorkspace) rmSync(workspace, { recursive: true, force: true });
    void endpoint.stop().finally(() => process.kill(process.pid, signal));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    steps.next(`Started the embedded local AWS endpoint at ${endpoint.url} (KMS, S3, IAM, STS on loopback)`);
    copyApp(PROJECT_ROOT, workspace);
    // An env is a directory under secrets/: an empty one is enough for its stack (key, bucket, roles).
    mkdirSync(join(workspace, 'secrets', ENV));
    writeFileSync(join(workspace, 'kms-secrets.json'), JSON.stringify({
      defaultEnv: ENV,
      environments: { [ENV]: { local: true, forceDestroy: true, roles: { ciPlan: { awsPrincipals: [`arn:aws:iam::${ACCOUNT_ID}:root`] } } } },
    }, null, 2));
    steps.detail(`throw-away project: ${workspace} (this repository's secrets/ is not touched)`);
    const admin = { ...cleanEnv(), ...terraformProviderEnv(endpoint.url) };
    const cli = (args: string[], env: NodeJS.ProcessEnv, input?: Buffer) => run(process.execPath, [join(workspace, 'bin', 'kms-secrets.js'), ...args], workspace, env, input);

    steps.next(`cdktf deploy ${ENV}: the KMS key and alias, the hardened bucket, the roles and policies (real Terraform${findProviderMirror() ? ', offline provider mirror' : ''})`);
    await cdktf(workspace, ['deploy', ENV, '--auto-approve'], admin, steps);

    steps.next(`npm run encrypt: ${secrets.length} secrets of service ${SERVICE}, values piped in, only ciphertext written`);
    for (const secret of secrets) {
      const encrypted = await cli(['encrypt', '--env', ENV, `${SERVICE}/${secret.name}`, '--keep-newline'], admin, secret.value);
      if (encrypted.code !== 0) throw new DemoError(`encrypt ${SERVICE}/${secret.name} failed:\n${encrypted.output}`);
      steps.detail(encrypted.output.trim());
    }

    steps.next(`cdktf deploy ${ENV}: uploads the ciphertext files as S3 objects (Terraform never decrypts)`);
    await cdktf(workspace, ['deploy', ENV, '--auto-approve'], admin, steps);

    steps.next(`kms-secrets exec as an ECS task of service ${SERVICE}: the sample service starts with its secrets in its environment`);
    // As in ECS: the SDK's default chain fetches the task role's credentials from the container credentials
    // endpoint, which the local endpoint answers only for a role whose trust policy lets ECS assume it.
    const { AWS_ACCESS_KEY_ID: _key, AWS_SECRET_ACCESS_KEY: _secret, ...withoutAdminKeys } = admin;
    const task = { ...withoutAdminKeys, AWS_CONTAINER_CREDENTIALS_FULL_URI: ecsTaskCredentialsUrl(endpoint.url, iamName(ENV, `task-${SERVICE}`)) };
    const exec = await cli(
      ['exec', '--bucket', `kms-secrets-${ENV}-secrets`, '--env', ENV, '--service', SERVICE, '--',
        process.execPath, join(PROJECT_ROOT, 'examples', 'sample-service.mjs'), ...secrets.map((s) => envVarName(s.name))],
      task,
    );
    if (exec.code !== 0) throw new DemoError(`kms-secrets exec failed:\n${exec.output}`);
    for (const line of exec.output.trim().split('\n')) steps.detail(line);

    steps.next(`The CI principal (role ${iamName(ENV, 'ci-plan')}): it can plan, it cannot decrypt`);
    const ci = { ...admin, ...(await assumeRole(endpoint.url, iamName(ENV, 'ci-plan'))) };
    const plan = await runCdktf(workspace, ['plan', ENV], ci);
    const ciPlanSucceeded = plan.code === 0 && /No changes\./.test(plan.output);
    steps.detail(ciPlanSucceeded ? 'cdktf plan demo with the CI credentials: OK, no changes' : `cdktf plan failed:\n${plan.output.slice(-1500)}`);
    const decrypt = await cli(['decrypt', '--env', ENV, `${SERVICE}/${secrets[0]!.name}`], ci);
    const ciDecryptDenied = decrypt.code !== 0 && /AccessDenied/.test(decrypt.output);
    steps.detail(`kms-secrets decrypt with the CI credentials: ${ciDecryptDenied ? 'denied, as it must be' : 'NOT denied'}`);
    for (const line of decrypt.output.trim().split('\n')) steps.detail(`  ${line}`);

    steps.next('Stopping the local endpoint and removing the throw-away project');
    const seconds = (performance.now() - started) / 1000;
    if (!ciPlanSucceeded || !ciDecryptDenied) throw new DemoError('the CI principal check failed (see above)');
    write(`\nDemo finished in ${seconds.toFixed(0)} s: encrypt → deploy → exec worked, and CI can plan without decrypt rights.`);
    return { workspace, serviceReport: exec.output, ciPlanSucceeded, ciDecryptDenied, seconds };
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    await endpoint.stop();
    if (!options.keepWorkspace) rmSync(workspace, { recursive: true, force: true });
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function randomSecrets(): DemoSecret[] {
  const pem = (bytes: Buffer) => `-----BEGIN CERTIFICATE-----\n${bytes.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
  return [
    { name: 'db-password', value: Buffer.from(randomBytes(18).toString('base64url')) },
    { name: 'stripe-key', value: Buffer.from(`sk_test_${randomBytes(24).toString('hex')}`) },
    { name: 'tls.crt', value: Buffer.from(pem(randomBytes(3600))) },
  ];
}

/** Fails before anything starts when Terraform is missing, saying how to get it. */
function requireTerraform(): void {
  if (spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0) return;
  throw new DemoError(
    'Terraform is not on PATH. The demo runs the real `cdktf deploy`, which needs Terraform >= 1.10.\n' +
    'Install it (https://developer.hashicorp.com/terraform/install), or put the terraform binary on PATH; ' +
    'offline machines also need a filesystem mirror of hashicorp/aws 5.100.0 (set TF_PROVIDER_MIRROR).',
  );
}

async function cdktf(workspace: string, args: string[], env: NodeJS.ProcessEnv, steps: ReturnType<typeof stepper>): Promise<void> {
  const progress = new TerraformProgress();
  const started = performance.now();
  // Terraform is silent for a minute at a time: say every 10 s what it is waiting for.
  const ticker = setInterval(() => steps.detail(`${((performance.now() - started) / 1000).toFixed(0)} s: ${progress.describe()}`), PROGRESS_EVERY_MS);
  const result = await runCdktf(workspace, args, env, (text) => progress.read(text)).finally(() => clearInterval(ticker));
  if (result.code !== 0) throw new DemoError(`cdktf ${args.join(' ')} failed:\n${result.output.slice(-3000)}`);
  const summary = result.output.match(/Apply complete! Resources: [^\n]*/)?.[0];
  steps.detail(summary ?? 'done');
}

const PROGRESS_EVERY_MS = 10_000;

/** What a cdktf run is doing, from Terraform's own lines ("aws_kms_key.key_1A2B: Creating..."). */
export class TerraformProgress {
  private phase = 'synthesizing the stack';
  private readonly inFlight = new Set<string>();
  private done = 0;
  private lifecycleExplained = false;

  read(text: string): void {
    for (const line of text.split('\n')) {
      if (/Initializing (the backend|provider plugins)/.test(line)) this.phase = 'terraform init';
      else if (/Terraform will perform the following actions|Refreshing state|Reading\.\.\./.test(line)) this.phase = 'planning';
      const started = /(\w+\.[\w-]+?)(?:_[0-9A-F]{8})?: (?:Creating|Modifying|Destroying)\.\.\./.exec(line);
      if (started) {
        this.phase = 'applying';
        this.inFlight.add(started[1]!);
      }
      const finished = /(\w+\.[\w-]+?)(?:_[0-9A-F]{8})?: (?:Creation|Modifications|Destruction) complete/.exec(line);
      if (finished && this.inFlight.delete(finished[1]!)) this.done += 1;
    }
  }

  describe(): string {
    if (this.phase !== 'applying') return this.phase;
    const waiting = [...this.inFlight];
    // Said once: the wait it explains lasts a minute.
    const explain = !this.lifecycleExplained && waiting.some((address) => address.startsWith('aws_s3_bucket_lifecycle_configuration'));
    if (explain) this.lifecycleExplained = true;
    const lifecycle = explain ? ' (the AWS provider polls a new lifecycle rule until it reads back the same for a while: about a minute, on AWS too)' : '';
    return waiting.length === 0 ? `applying, ${this.done} done` : `${this.done} done, waiting for ${waiting.join(', ')}${lifecycle}`;
  }
}

async function assumeRole(endpoint: string, role: string): Promise<Record<string, string>> {
  const sts = await awsClients({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }).sts();
  const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/${role}`, RoleSessionName: 'demo' }));
  return { AWS_ACCESS_KEY_ID: Credentials!.AccessKeyId!, AWS_SECRET_ACCESS_KEY: Credentials!.SecretAccessKey!, AWS_SESSION_TOKEN: Credentials!.SessionToken! };
}

/** The environment without the caller's AWS settings: the demo talks to its own endpoint only. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && key !== 'SECRETS_ENV'));
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, input?: Buffer): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output: stripVTControlCharacters(output) }));
    child.stdin.end(input ?? '');
  });
}

function stepper(write: (line: string) => void, total: number) {
  let step = 0;
  let stepStarted = performance.now();
  return {
    next(title: string) {
      const elapsed = step > 0 ? ` (${((performance.now() - stepStarted) / 1000).toFixed(1)} s)` : '';
      if (elapsed) write(`        done${elapsed}`);
      step += 1;
      stepStarted = performance.now();
      write(`\n[${step}/${total}] ${title}`);
    },
    detail(line: string) {
      write(`        ${line}`);
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await runDemo();
  } catch (error) {
    process.stderr.write(`\ndemo failed: ${error instanceof DemoError ? error.message : (error as Error).stack}\n`);
    process.exitCode = 1;
  }
}

/**
 * A throw-away project on the embedded local AWS endpoint, what `npm run demo` and the tour
 * (`npm run local -- --tour`) share: a copy of this app in a folder of its own with the endpoint's state inside
 * it, its commands (cdktf, the CLI) run as child processes that say every 10 s what Terraform is doing, and a
 * stop signal (Ctrl-C) that ends them, stops the endpoint and removes the folder.
 */
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { awsClients } from '../lib/aws.ts';
import { KmsSecretsError } from '../lib/errors.ts';
import { loadSettings, parseSettings, SETTINGS_FILE } from '../lib/settings.ts';
import { assertCdktfNativeModule, assertNodeFor, toolchainCli, type Toolchain } from '../lib/toolchain.ts';
import { ACCOUNT_ID, start, TEST_CREDENTIALS, terraformProviderEnv, type LocalEndpoint, type StartOptions } from '../local/index.ts';
import { cdktfInvocation, collectOutput, type CdktfRun } from './cdktf.ts';
import { copyApp } from './workspace.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A step that failed: its message says which and why, and is shown without a stack trace. */
export class LocalProjectError extends Error {}

export interface LocalProjectOptions {
  /** The folder to make the project in; an empty one may exist already. @default a new temporary folder */
  readonly dir?: string;
  /** The start of the temporary folder's name, e.g. "kms-secrets-demo-". */
  readonly tempPrefix: string;
  /** How the endpoint listens; its state is the project's `.local-aws/`. @default loopback, any free port */
  readonly endpoint?: Omit<StartOptions, 'dir'>;
  /** The content of kms-secrets.json. */
  readonly settings: unknown;
  /** Envs to start: an empty directory under secrets/ is enough for an env's stack (key, bucket, roles). */
  readonly envs: readonly string[];
  /** Paths of this repository to copy besides the app, e.g. "local" for `npm run local` in the copy. @default none */
  readonly extraEntries?: readonly string[];
  /** Leave the folder when the project closes. @default false */
  readonly keep?: boolean;
  /** What a stop signal does once the project is closed. @default raise it again: the process ends by that signal */
  readonly afterStop?: (signal: NodeJS.Signals) => void;
}

export interface Run {
  readonly code: number;
  /** stdout and stderr, without terminal colours. */
  readonly output: string;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export class LocalProject {
  /** Environment for a child process acting as the endpoint's admin (the account root), without the caller's AWS settings. */
  readonly admin: NodeJS.ProcessEnv;
  private readonly children = new Set<ChildProcess>();
  private closing?: Promise<void>;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    void this.close().then(() => (this.options.afterStop ?? ((raised) => process.kill(process.pid, raised)))(signal));
  };

  private constructor(
    readonly root: string,
    readonly endpoint: LocalEndpoint,
    private readonly createdRoot: boolean,
    private readonly options: LocalProjectOptions,
  ) {
    this.admin = { ...withoutAwsSettings(), ...terraformProviderEnv(endpoint.url) };
    for (const signal of STOP_SIGNALS) process.on(signal, this.onSignal);
  }

  /** The CDK the project deploys with: its settings' "toolchain". */
  get toolchain(): Toolchain {
    return parseSettings(this.options.settings, SETTINGS_FILE).toolchain;
  }

  /** Makes the folder, starts the endpoint in it and copies the app; until `close`, a stop signal closes it. */
  static async create(options: LocalProjectOptions): Promise<LocalProject> {
    requireToolchain(options.settings);
    const { root, created } = options.dir === undefined
      ? { root: mkdtempSync(join(tmpdir(), options.tempPrefix)), created: true }
      : claimFolder(resolve(options.dir));
    let endpoint: LocalEndpoint;
    try {
      endpoint = await start({ ...options.endpoint, dir: join(root, '.local-aws') });
    } catch (error) {
      removeFolder(root, created);
      throw error;
    }
    const project = new LocalProject(root, endpoint, created, options);
    try {
      copyApp(PROJECT_ROOT, root);
      for (const entry of options.extraEntries ?? []) cpSync(join(PROJECT_ROOT, entry), join(root, entry), { recursive: true });
      for (const env of options.envs) mkdirSync(join(root, 'secrets', env));
      writeFileSync(join(root, 'kms-secrets.json'), `${JSON.stringify(options.settings, null, 2)}\n`);
    } catch (error) {
      await project.close();
      throw error;
    }
    return project;
  }

  /** Runs the project's CLI (`kms-secrets <args>`), with `input` on its standard input. */
  cli(args: readonly string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<Run> {
    return this.run(process.execPath, [join(this.root, 'bin', 'kms-secrets.js'), ...args], env, input);
  }

  /** Runs the project's cdktf or cdktn (offline where a provider mirror is found), saying every 10 s what Terraform is waiting for. */
  async cdktf(args: readonly string[], env: NodeJS.ProcessEnv, steps: Steps): Promise<CdktfRun> {
    const invocation = cdktfInvocation(this.root, args, env);
    const progress = new TerraformProgress();
    const started = performance.now();
    const ticker = setInterval(() => steps.detail(`${((performance.now() - started) / 1000).toFixed(0)} s: ${progress.describe()}`), PROGRESS_EVERY_MS);
    try {
      return { ...(await this.run(invocation.command, invocation.args, invocation.env, undefined, (text) => progress.read(text))), toolchain: invocation.toolchain };
    } finally {
      clearInterval(ticker);
    }
  }

  /** `cdktf deploy <env>`; a failure ends the step with the end of Terraform's output. */
  async deploy(env: string, credentials: NodeJS.ProcessEnv, steps: Steps): Promise<void> {
    const result = await this.cdktf(['deploy', env, '--auto-approve'], credentials, steps);
    if (result.code !== 0) throw new LocalProjectError(`${result.toolchain} deploy ${env} failed:\n${result.output.slice(-3000)}`);
    steps.detail(/Apply complete! Resources: [^\n]*/.exec(result.output)?.[0] ?? 'done');
  }

  /**
   * Ends what runs (each child with its process group: cdktf's Terraform and provider too, so nothing writes in
   * the folder afterwards), stops the endpoint and removes the folder unless kept. Once, whoever asks first.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.children].map((child) => {
        const closed = new Promise((resolveClosed) => child.once('close', resolveClosed));
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // ended already
        }
        return closed;
      }));
      await this.endpoint.stop();
      if (!this.options.keep) removeFolder(this.root, this.createdRoot);
      // Only now: a second Ctrl-C during the cleanup (npm passes one on to its script as the terminal sends
      // one to both) must not end the process by default before the folder is gone.
      for (const signal of STOP_SIGNALS) process.off(signal, this.onSignal);
    })();
    return this.closing;
  }

  private run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: Buffer, onOutput?: (text: string) => void): Promise<Run> {
    // A process group of its own: close() ends it with everything it started.
    const child = spawn(command, args, { cwd: this.root, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.children.add(child);
    // A child that ends before it reads its input (close() ended it, or it never started: its folder is gone) makes
    // the write fail with EPIPE; its exit or its spawn error says what happened, and close() must still finish.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    return collectOutput(child, onOutput).finally(() => this.children.delete(child));
  }
}

/** `dir` when it does not exist or is empty: a project there must not mix with what a user keeps. */
function claimFolder(dir: string): { root: string; created: boolean } {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    return { root: dir, created: true };
  }
  if (readdirSync(dir).length > 0) throw new LocalProjectError(`${dir} is not empty: name a new folder, or an empty one`);
  return { root: dir, created: false };
}

/** Removes the folder, or only what is in it when it existed before. */
function removeFolder(root: string, created: boolean): void {
  if (created) {
    rmSync(root, { recursive: true, force: true });
    return;
  }
  for (const entry of readdirSync(root)) rmSync(join(root, entry), { recursive: true, force: true });
}

/** Fails before anything starts when Terraform is missing, saying how to get it. */
export function requireTerraform(who: string): void {
  if (spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0) return;
  throw new LocalProjectError(
    `Terraform is not on PATH. ${who} runs the real \`cdktf deploy\`, which needs Terraform >= 1.10.\n`
    + 'Install it (https://developer.hashicorp.com/terraform/install), or put the terraform binary on PATH; '
    + 'offline machines also need a filesystem mirror of hashicorp/aws 5.100.0 (set TF_PROVIDER_MIRROR).',
  );
}

/**
 * Fails before anything starts when the project's CDK CLI cannot run on this Node (CDK Terrain on Node 20, or
 * cdktf-cli without its native module on Node 24), saying what to do.
 */
function requireToolchain(settings: unknown): void {
  asLocalProjectError(() => {
    const { toolchain } = parseSettings(settings, SETTINGS_FILE);
    assertNodeFor(toolchain);
    if (toolchain === 'cdktf') assertCdktfNativeModule(toolchainCli(PROJECT_ROOT, toolchain));
  });
}

/** This repository's toolchain (its kms-secrets.json), which the demo's and the tour's copies use too. */
export function projectToolchain(): Toolchain {
  return asLocalProjectError(() => loadSettings(PROJECT_ROOT).toolchain);
}

/** A problem the user can act on ends the demo or the tour with its message and hint, without a stack trace. */
function asLocalProjectError<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof KmsSecretsError)) throw error;
    throw new LocalProjectError(`${error.message}${error.hint ? `\nhint: ${error.hint}` : ''}`);
  }
}

/** Assumes `role` of the endpoint's account as its admin: the role's trust policy must name the account. */
export async function assumeRole(endpoint: string, role: string, sessionName: string) {
  const clients = awsClients({ endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  try {
    const { Credentials } = await (await clients.sts()).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/${role}`, RoleSessionName: sessionName }));
    return { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken!, expiration: Credentials!.Expiration! };
  } finally {
    clients.destroy();
  }
}

/** The credentials as the variables the CLI, cdktf and Terraform read. */
export function credentialsEnv(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken };
}

/** The environment without the caller's AWS settings: a local project talks to its own endpoint only. */
function withoutAwsSettings(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && key !== 'SECRETS_ENV'));
}

export interface Steps {
  /** Ends the step before (with its time) and starts `[n/total] title`. */
  next(title: string): void;
  /** A line under the current step. */
  detail(line: string): void;
}

export function stepper(write: (line: string) => void, total: number): Steps {
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

/** Terraform is silent for a minute at a time: this often, say what it is waiting for. */
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

/**
 * What the encryption helper's tests share: a local AWS endpoint with keys made through the real SDK, a
 * temp project whose env is marked local, the CLI run as a subprocess (piped, or in a pseudo-terminal
 * through util-linux `script`), and a scan for a marker value in every file and output.
 */
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsClients, type AwsClients } from '../../lib/aws.ts';
import { start, TEST_CREDENTIALS, type LocalEndpoint } from '../../local/index.ts';
import { makeProject, REPO_ROOT, type TestProject } from '../support/project.ts';

export const REGION = 'us-east-1';
export const ENV = 'demo';
export const ALIAS = `alias/kms-secrets/${ENV}`;
const BIN = join(REPO_ROOT, 'bin', 'kms-secrets.js');

export interface Aws {
  readonly endpoint: LocalEndpoint;
  /** The endpoint's state folder (keys, request log): part of the marker scan. */
  readonly stateDir: string;
  /** Admin clients on the endpoint. */
  readonly clients: AwsClients;
  /** The key id behind `alias/kms-secrets/demo`. */
  readonly keyId: string;
  /** A new key, optionally with an alias; returns its key id. */
  createKey(alias?: string): Promise<string>;
  /** The environment a CLI process runs with: the endpoint, admin test credentials, nothing from the host. */
  cliEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Stops the endpoint once, flushing its request log to the state folder. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startAws(): Promise<Aws> {
  const stateDir = mkdtempSync(join(tmpdir(), 'kms-secrets-aws-'));
  const home = mkdtempSync(join(tmpdir(), 'kms-secrets-home-'));
  const endpoint = await start({ dir: stateDir });
  const clients = awsClients({ endpoint: endpoint.url, region: REGION, credentials: TEST_CREDENTIALS });
  const createKey = async (alias?: string) => {
    const key = await clients.kms.send(new CreateKeyCommand({}));
    const keyId = key.KeyMetadata!.KeyId!;
    if (alias) await clients.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    return keyId;
  };
  const keyId = await createKey(ALIAS);
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= endpoint.stop());
  return {
    endpoint, stateDir, clients, keyId, createKey,
    cliEnv: (extra = {}) => ({
      PATH: process.env.PATH,
      HOME: home,
      AWS_ENDPOINT_URL: endpoint.url,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      // Nothing from the machine running the tests: no profiles, no instance metadata.
      AWS_CONFIG_FILE: join(home, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      ...extra,
    }),
    stop,
    async close() {
      await stop();
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * A temp project whose envs (default: `demo`) the settings mark local, so local ciphertext is accepted.
 * With `created`, their directories exist, as after a first secret.
 */
export function localProject(envs: readonly string[] = [ENV], created = true): TestProject {
  const project = makeProject({ settings: { defaultEnv: ENV, environments: Object.fromEntries(envs.map((env) => [env, { local: true }])) } });
  if (created) for (const env of envs) mkdirSync(join(project.root, 'secrets', env));
  return project;
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** Standard output as bytes: decrypt writes values, which may be binary. */
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

export interface CliOptions {
  readonly input?: string | Buffer;
  readonly env?: NodeJS.ProcessEnv;
  /** Where the command runs. @default the project root */
  readonly cwd?: string;
  /** The Node that runs it. @default this process's */
  readonly node?: string;
}

/** Starts the CLI as a user would (a process in the project folder, stdin piped and closed after `input`). */
export function startCli(aws: Aws, project: TestProject, args: readonly string[], options: CliOptions = {}): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(options.node ?? process.execPath, [BIN, ...args], { cwd: options.cwd ?? project.root, env: aws.cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin!.end(options.input ?? '');
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const bytes = Buffer.concat(stdout);
      resolve({ code, signal, stdout: bytes.toString('utf8'), stdoutBytes: bytes, stderr });
    });
  });
  return { child, done };
}

export function cli(aws: Aws, project: TestProject, args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return startCli(aws, project, args, options).done;
}

export interface TerminalRun {
  readonly code: number | null;
  /** Everything the terminal showed: stdout and stderr of the CLI, and whatever it echoed. */
  readonly screen: string;
}

/**
 * Runs the CLI with a pseudo-terminal as stdin, stdout and stderr (`script -qfec`). Each answer is typed
 * only once its prompt is on the screen, so nothing reaches the terminal before the CLI controls echo.
 */
export function runInTerminal(
  aws: Aws, project: TestProject, args: readonly string[], answers: readonly { after: string; type: string }[] = [], env: NodeJS.ProcessEnv = {},
  typeAhead?: string,
): Promise<TerminalRun> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: project.root, env: aws.cliEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    // Keys typed before anything is on the screen, as an impatient user does.
    if (typeAhead !== undefined) child.stdin.write(typeAhead);
    let screen = '';
    let next = 0;
    let searchFrom = 0;
    const onOutput = (chunk: Buffer) => {
      screen += chunk.toString('utf8');
      while (next < answers.length && screen.indexOf(answers[next]!.after, searchFrom) >= 0) {
        child.stdin.write(answers[next]!.type);
        next += 1;
        searchFrom = screen.length;
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * A stand-in for KMS that accepts requests and never answers: a call that is "in flight" for as long as
 * a test needs, to interrupt the CLI in the middle of it. `arrived` resolves on the first request.
 */
export async function hangingEndpoint(): Promise<{ url: string; arrived: Promise<void>; close(): Promise<void> }> {
  let signalArrival!: () => void;
  const arrived = new Promise<void>((resolve) => (signalArrival = resolve));
  const server: Server = createServer(() => signalArrival());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrived,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The files of a directory, for "no temp file was left behind". */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).sort();
}

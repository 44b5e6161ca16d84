/**
 * What the runtime tests share: a local AWS endpoint seeded through the real SDK (key, alias, bucket,
 * ciphertext made by lib/cipher.ts), the environment a wrapper process runs with, and the checks that
 * no secret value ever appears in what the wrapper prints.
 */
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { awsClients, type AwsClients } from '../../lib/aws.ts';
import { encryptSecret } from '../../lib/cipher.ts';
import { declaredListContent, declaredListKey } from '../../lib/declared.ts';
import type { SecretRef } from '../../lib/naming.ts';
import { start, TEST_CREDENTIALS, type LocalEndpoint } from '../../local/index.ts';
import { concurrencyLimit } from '../../runtime/concurrency.ts';
import { runCli, RUNTIME_COMMAND, RUNTIME_EXECUTABLE, RUNTIME_NODE, type CliRun } from '../support/cli.ts';
import { REPO_ROOT } from '../support/project.ts';

export const REGION = 'us-east-1';
export const CHILD = join(REPO_ROOT, 'test', 'runtime', 'fixtures', 'child.mjs');

export interface Store {
  readonly endpoint: LocalEndpoint;
  /** Admin clients on the endpoint, for seeding. */
  readonly clients: AwsClients;
  readonly env: string;
  readonly bucket: string;
  readonly keyId: string;
  readonly keyArn: string;
  /** A scratch folder for marker files and sidecar output. */
  readonly scratch: string;
  /** Every plaintext put anywhere, for the marker scan. */
  readonly values: Set<string>;
  /** The secret names each service's declared list holds, as putSecrets and declare left it. */
  readonly declared: Map<string, Set<string>>;
  close(): Promise<void>;
}

/** A local endpoint with one env's key (and alias) and bucket. */
export async function openStore(env = 'staging'): Promise<Store> {
  const scratch = mkdtempSync(join(tmpdir(), 'kms-secrets-runtime-'));
  const endpoint = await start({ dir: join(scratch, 'aws') });
  const clients = awsClients({ endpoint: endpoint.url, region: REGION, credentials: TEST_CREDENTIALS });
  const bucket = `kms-secrets-${env}-secrets`;
  const key = await clients.kms.send(new CreateKeyCommand({ Description: `kms-secrets ${env}` }));
  const keyId = key.KeyMetadata!.KeyId!;
  const keyArn = key.KeyMetadata!.Arn!;
  await clients.kms.send(new CreateAliasCommand({ AliasName: `alias/kms-secrets/${env}`, TargetKeyId: keyId }));
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint, clients, env, bucket, keyId, keyArn, scratch, values: new Set(), declared: new Map(),
    async close() {
      await endpoint.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** A value that is recognisable in any output: the marker the scan looks for. */
export function secretValue(label: string): string {
  return `MARKER-${label}-${randomBytes(12).toString('hex')}`;
}

/**
 * Encrypts each `service/name` → plaintext for its place and uploads it at `service/name`, 32 at a time,
 * and declares the names, as an administrator's apply of the stack would (`declare: false` plants them).
 */
export async function putSecrets(store: Store, secrets: Record<string, string | Buffer>, place: (path: string) => SecretRef = refOf(store), { declare: declaring = true } = {}): Promise<void> {
  // Declared first, as the stack writes a service's list before its objects: a new object is never undeclared.
  if (declaring) await declare(store, Object.keys(secrets));
  const limit = concurrencyLimit(32);
  await Promise.all(Object.entries(secrets).map(([path, plaintext]) => limit(async () => {
    if (typeof plaintext === 'string') store.values.add(plaintext);
    const { ciphertext } = await encryptSecret(store.clients.kms, store.keyId, place(path), Buffer.from(plaintext));
    await store.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: path, Body: ciphertext }));
  })));
}

/** Adds `service/name` paths to their services' declared lists in the bucket. */
export async function declare(store: Store, paths: readonly string[]): Promise<void> {
  const services = new Set<string>();
  for (const path of paths) {
    const [service, name] = path.split('/') as [string, string];
    const names = store.declared.get(service) ?? new Set();
    store.declared.set(service, names.add(name));
    services.add(service);
  }
  for (const service of services) {
    const content = declaredListContent({ env: store.env, service, secrets: [...store.declared.get(service)!], keyArn: store.keyArn });
    await store.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: declaredListKey(service), Body: content }));
  }
}

/** The place a `service/name` path stands for in the store's env. */
export function refOf(store: Store): (path: string) => SecretRef {
  return (path) => {
    const [service, name] = path.split('/') as [string, string];
    return { env: store.env, service, name };
  };
}

/**
 * The environment a wrapper runs with: this process's PATH and the like, no AWS settings of the
 * machine, the endpoint, credentials (admin unless given) and `extra`.
 */
export function runtimeEnv(store: Store, extra: Record<string, string> = {}, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = TEST_CREDENTIALS): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('SECRETS_')));
  return {
    ...base,
    AWS_ENDPOINT_URL: store.endpoint.url,
    AWS_REGION: REGION,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    SECRETS_BUCKET: store.bucket,
    SECRETS_ENV: store.env,
    ...extra,
  };
}

export function fingerprint(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A fresh marker path for one child run; the child creates it when (and only when) it starts. */
export function markerPath(store: Store): string {
  return join(store.scratch, `marker-${randomBytes(6).toString('hex')}`);
}

export function childRan(marker: string): boolean {
  return existsSync(marker);
}

export function markerLines(marker: string): string[] {
  return existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : [];
}

export interface ChildReport {
  readonly names: string[];
  readonly fingerprints: Record<string, string>;
  readonly pid: number;
  readonly ppid: number;
}

/** What the child printed with `print=…`: the names in its environment, fingerprints of the chosen ones, its PID and parent's. */
export function childReport(run: Pick<CliRun, 'stdout' | 'stderr'>): ChildReport {
  const line = run.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`the child printed no report; stderr:\n${run.stderr}`);
  return JSON.parse(line) as ChildReport;
}

/** Whether the runtime under test (its Node, or the executable's engine) replaces itself with the command (execve). */
export const RUNTIME_REPLACES_ITSELF = RUNTIME_EXECUTABLE
  ? spawnSync(RUNTIME_EXECUTABLE, ['--version'], { encoding: 'utf8' }).stdout.includes('exec replaces itself')
  : spawnSync(RUNTIME_NODE, ['-p', 'typeof process.execve'], { encoding: 'utf8' }).stdout.trim() === 'function';

/** The exit status a container reports: the code, or 128 + n for a process killed by signal n. */
export function exitStatus(run: Pick<CliRun, 'code' | 'signal'>): number | null {
  return run.signal ? 128 + constants.signals[run.signal] : run.code;
}

/** The marker scan: no plaintext the store ever held appears in the wrapper's stdout or stderr. */
export function expectNoValueIn(store: Store, run: Pick<CliRun, 'stdout' | 'stderr'>): void {
  for (const value of store.values) {
    expect(run.stdout.includes(value), 'a secret value appeared on stdout').toBe(false);
    expect(run.stderr.includes(value), 'a secret value appeared on stderr').toBe(false);
  }
  expect(`${run.stdout}${run.stderr}`).not.toContain('MARKER-');
}

export interface ExecRun extends CliRun {
  /** The child's marker file: it exists only if the child started. */
  readonly marker: string;
  readonly childRan: boolean;
  readonly ms: number;
}

/**
 * `kms-secrets exec <flags> -- node child.mjs <marker> <childArgs>`, as a user runs it (bin/kms-secrets.js),
 * with the marker scan applied to what it printed.
 */
export async function execChild(store: Store, flags: readonly string[], childArgs: readonly string[] = [], env: NodeJS.ProcessEnv = runtimeEnv(store)): Promise<ExecRun> {
  const marker = markerPath(store);
  const started = performance.now();
  const run = await runCli(['exec', ...flags, '--', process.execPath, CHILD, marker, ...childArgs], { cwd: store.scratch, env });
  const ms = performance.now() - started;
  expectNoValueIn(store, run);
  return { ...run, marker, childRan: childRan(marker), ms };
}

export interface RunningExec {
  readonly wrapper: ChildProcess;
  readonly marker: string;
  /** Settles when the wrapper exits, after the marker scan. */
  readonly done: Promise<CliRun>;
}

/** Starts `kms-secrets exec` in the background, for tests that signal it while it runs. */
export function startExec(store: Store, flags: readonly string[], childArgs: readonly string[], env: NodeJS.ProcessEnv = runtimeEnv(store)): RunningExec {
  const marker = markerPath(store);
  const [program, ...first] = RUNTIME_COMMAND;
  const wrapper = spawn(program, [...first, 'exec', ...flags, '--', process.execPath, CHILD, marker, ...childArgs], {
    cwd: store.scratch, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  wrapper.stdout!.on('data', (chunk) => (stdout += chunk));
  wrapper.stderr!.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<CliRun>((resolve, reject) => {
    wrapper.on('error', reject);
    wrapper.on('close', (code, signal) => {
      const run = { code, signal, stdout, stderr };
      expectNoValueIn(store, run);
      resolve(run);
    });
  });
  return { wrapper, marker, done };
}

/** Polls until `condition` holds; fails after `ms`. */
export async function waitFor(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

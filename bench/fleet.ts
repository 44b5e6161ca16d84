/**
 * A fleet starting at once under the account's KMS request quota: M tasks, each loading the same S secrets,
 * against the local endpoint (in a process of its own) with a KMS quota of Q cryptographic calls per second.
 * The floor is M·S/Q seconds: no fleet can start faster under that quota.
 *
 * A run is one kind of task: in-process loaders, each with its own SDK clients and retry state as separate
 * tasks have, or real `kms-secrets exec` processes, to check that the in-process model agrees. (In a mixed
 * fleet the processes start later, by their own start-up, and find the quota used up: unfair to both.) Each
 * fleet also runs once without a quota: that is what this machine's CPUs allow, a floor of its own.
 * `npm run bench -- fleet`; `npm run bench:fleet -- M S Q [in-process|exec]`.
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { awsClients, DEFAULT_MAX_ATTEMPTS } from '../lib/aws.ts';
import { encryptSecret } from '../lib/cipher.ts';
import { declaredListContent, declaredListKey } from '../lib/declared.ts';
import { TEST_CREDENTIALS, type RequestLogEntry } from '../local/index.ts';
import { MAX_PARALLEL_CALLS } from '../runtime/concurrency.ts';
import { DEFAULT_DEADLINE_MS } from '../runtime/deadline.ts';
import { loadSecrets } from '../runtime/index.ts';
import { ownProcess } from './local-endpoint.ts';

const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CLI = join(REPO_ROOT, 'bin', 'kms-secrets.js');
const BUCKET = 'kms-secrets-fleet-secrets';
const REGION = 'us-east-1';

export type TaskKind = 'in-process' | 'exec';

export interface FleetOptions {
  readonly tasks: number;
  readonly secrets: number;
  /** KMS cryptographic calls per second; none when unset. */
  readonly quota?: number;
  readonly kind: TaskKind;
}

export interface FleetRun extends FleetOptions {
  readonly failures: number;
  /** Seconds from the fleet's start to each started task's app start, sorted. */
  readonly seconds: number[];
  readonly firstFailure?: string;
  /** Decrypt calls the endpoint answered, throttled ones included. */
  readonly decryptCalls: number;
  readonly throttled: number;
}

/** A fleet under the quota, and the same fleet without one: what this machine allows. */
export interface FleetFigures {
  readonly quota: FleetRun;
  readonly unthrottled: FleetRun;
}

/** The issue's default fleet (floor 10 s), and one a tenth its size with the same floor and share per task. */
export const DEFAULT_FLEETS: readonly FleetOptions[] = [
  { tasks: 200, secrets: 50, quota: 1_000, kind: 'in-process' },
  { tasks: 20, secrets: 50, quota: 100, kind: 'in-process' },
  { tasks: 20, secrets: 50, quota: 100, kind: 'exec' },
];

export async function benchFleets(fleets: readonly FleetOptions[] = DEFAULT_FLEETS): Promise<FleetFigures[]> {
  const figures: FleetFigures[] = [];
  for (const fleet of fleets) {
    figures.push({ quota: await benchFleet(fleet), unthrottled: await benchFleet({ ...fleet, quota: undefined }) });
  }
  return figures;
}

export async function benchFleet(options: FleetOptions): Promise<FleetRun> {
  const dir = mkdtempSync(join(tmpdir(), 'kms-secrets-fleet-'));
  // In a process of its own, as `npm run local` runs it: the fleet's clients do not take its CPU.
  const endpoint = await ownProcess(dir, options.quota === undefined ? [] : ['--kms-quota', String(options.quota)]);
  try {
    await seed(endpoint.url, options.secrets);
    // The CLI bundles its sources on first use after a change: not while the fleet's clock runs.
    if (options.kind === 'exec') spawnSync(process.execPath, [CLI, '--help'], { stdio: 'ignore' });
    // The seeding's Encrypts came out of the same quota: start with it full.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = (await requestLog(endpoint.url)).length;

    const started = performance.now();
    const task = options.kind === 'exec' ? () => execTask(endpoint.url) : () => inProcessTask(endpoint.url);
    const results = await Promise.all(Array.from({ length: options.tasks }, () =>
      task().then((result) => ({ ...result, seconds: (performance.now() - started) / 1000 }))));

    const decrypts = (await requestLog(endpoint.url)).slice(before).filter((entry) => entry.operation === 'Decrypt');
    return {
      ...options,
      failures: results.filter((r) => !r.ok).length,
      seconds: results.filter((r) => r.ok).map((r) => r.seconds).sort((a, b) => a - b),
      firstFailure: results.find((r) => !r.ok)?.error,
      decryptCalls: decrypts.length,
      throttled: decrypts.filter((entry) => entry.throttled === 'kms').length,
    };
  } finally {
    await endpoint.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function seed(url: string, secrets: number): Promise<void> {
  const admin = awsClients({ endpoint: url, region: REGION, credentials: TEST_CREDENTIALS });
  try {
    const { KeyId: keyId, Arn: keyArn } = (await admin.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await admin.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const names = Array.from({ length: secrets }, (_, i) => `secret-${i}`);
    // What the stack's apply writes: the service's declared names, then its objects.
    const declared = declaredListContent({ env: 'fleet', service: 'api', secrets: names, keyArn: keyArn! });
    await admin.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: declaredListKey('api'), Body: declared }));
    for (const name of names) {
      const { ciphertext } = await encryptSecret(admin.kms, keyId!, { env: 'fleet', service: 'api', name }, Buffer.from(`value of ${name}`));
      await admin.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `api/${name}`, Body: ciphertext }));
    }
  } finally {
    admin.destroy();
  }
}

type TaskResult = { ok: boolean; error?: string };

/** One task in this process, with its own clients, connection pool and retry state. */
async function inProcessTask(url: string): Promise<TaskResult> {
  const clients = awsClients({ endpoint: url, region: REGION, credentials: TEST_CREDENTIALS });
  try {
    await loadSecrets({ bucket: BUCKET, env: 'fleet', services: ['api'], clients });
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message.split('\n')[0] };
  } finally {
    clients.destroy();
  }
}

/** One task as ECS starts it: `kms-secrets exec -- true`, with its own process, clients and retries. */
function execTask(url: string): Promise<TaskResult> {
  return new Promise((resolve) => {
    const env = {
      PATH: process.env.PATH, AWS_ENDPOINT_URL: url, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true', SECRETS_BUCKET: BUCKET, SECRETS_ENV: 'fleet', SECRETS_SERVICES: 'api',
    };
    const child = spawn(process.execPath, [CLI, 'exec', '--', 'true'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve(code === 0 ? { ok: true } : { ok: false, error: stderr.split('\n')[0] }));
  });
}

async function requestLog(url: string): Promise<RequestLogEntry[]> {
  return (await fetch(`${url}/_local/requests`)).json() as Promise<RequestLogEntry[]>;
}

export function fleetTable(figures: readonly FleetFigures[]): string {
  const percentile = (seconds: number[], p: number) => seconds[Math.min(seconds.length - 1, Math.floor(p * seconds.length))] ?? NaN;
  const s = (value: number) => value.toFixed(1);
  const rows = figures.map(({ quota: run, unthrottled }) => {
    const floor = (run.tasks * run.secrets) / run.quota!;
    const machine = percentile(unthrottled.seconds, 0.99);
    const loaded = run.seconds.length * run.secrets;
    return `| ${run.tasks} × ${run.secrets} at ${run.quota}/s | ${run.kind === 'exec' ? '`kms-secrets exec` processes' : 'in process'} | ${s(floor)} | ${s(machine)} `
      + `| ${run.failures} | ${s(percentile(run.seconds, 0.5))} | ${s(percentile(run.seconds, 0.99))} | ${s(run.seconds.at(-1) ?? NaN)} `
      + `| **${(percentile(run.seconds, 0.99) / floor).toFixed(2)}×** | ${(percentile(run.seconds, 0.99) / Math.max(floor, machine)).toFixed(2)}× `
      + `| ${run.decryptCalls} | **${(run.decryptCalls / Math.max(1, loaded)).toFixed(2)}×** | ${run.throttled} |`;
  });
  const failures = figures.flatMap(({ quota, unthrottled }) => [quota, unthrottled]).filter((run) => run.firstFailure);
  return [
    `Each task loads its S secrets with up to ${MAX_PARALLEL_CALLS} calls at a time; SDK adaptive retries, ${DEFAULT_MAX_ATTEMPTS} attempts, deadline ${DEFAULT_DEADLINE_MS / 1000} s.`,
    '',
    '| M tasks × S secrets at quota Q | tasks | floor M·S/Q (s) | same fleet, no quota: p99 (s) | failures | p50 start (s) | p99 start (s) | max (s) | p99 / floor | p99 / the larger floor | Decrypt calls | calls per secret | throttled |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    ...failures.map((run) => `\nFirst failure at ${run.tasks} × ${run.secrets} (${run.kind}${run.quota ? `, ${run.quota}/s` : ', no quota'}): ${run.firstFailure}`),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [tasks = 200, secrets = 50, quota = 1_000] = process.argv.slice(2, 5).map(Number);
  const kind = (process.argv[5] ?? 'in-process') as TaskKind;
  if (!['in-process', 'exec'].includes(kind)) throw new Error(`the kind of task is in-process or exec, not ${kind}`);
  process.stdout.write(`${fleetTable(await benchFleets([{ tasks, secrets, quota, kind }]))}\n`);
}

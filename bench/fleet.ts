/**
 * A fleet starting at once under the account's KMS request quota: M tasks, each loading the same S secrets,
 * against the local endpoint (in a process of its own) with a KMS quota of Q cryptographic calls per second.
 * Each in-process task has its own SDK clients and retry state, as separate tasks have; a handful of the M are
 * real `kms-secrets exec` processes, to check that the in-process model agrees. The floor is M·S/Q seconds:
 * no fleet can start faster under that quota. `npm run bench -- fleet`; `npm run bench:fleet -- M S Q`.
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { awsClients } from '../lib/aws.ts';
import { encryptSecret } from '../lib/cipher.ts';
import { TEST_CREDENTIALS, type RequestLogEntry } from '../local/index.ts';
import { loadSecrets } from '../runtime/index.ts';
import { ownProcess } from './local-endpoint.ts';

const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const BUCKET = 'kms-secrets-fleet-secrets';
const REGION = 'us-east-1';

export interface FleetOptions {
  readonly tasks: number;
  readonly secrets: number;
  readonly quota: number;
  /** How many of the tasks are real `kms-secrets exec` processes. @default 5 */
  readonly processes?: number;
}

interface Group {
  readonly started: number;
  readonly failures: number;
  /** Seconds from the fleet's start to each task's app start, sorted. */
  readonly seconds: number[];
  readonly firstFailure?: string;
}

export interface FleetFigures extends FleetOptions {
  readonly floorSeconds: number;
  readonly inProcess: Group;
  readonly execProcesses: Group;
  readonly decryptCalls: number;
  readonly throttled: number;
}

export async function benchFleet(options: FleetOptions = { tasks: 200, secrets: 50, quota: 1_000 }): Promise<FleetFigures> {
  const processes = Math.min(options.processes ?? 5, options.tasks);
  const dir = mkdtempSync(join(tmpdir(), 'kms-secrets-fleet-'));
  // In a process of its own, as `npm run local` runs it: the fleet's clients do not take its CPU.
  const endpoint = await ownProcess(dir, ['--kms-quota', String(options.quota)]);
  try {
    const admin = awsClients({ endpoint: endpoint.url, region: REGION, credentials: TEST_CREDENTIALS });
    const keyId = (await admin.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await admin.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (let i = 0; i < options.secrets; i++) {
      const { ciphertext } = await encryptSecret(admin.kms, keyId, { env: 'fleet', service: 'api', name: `secret-${i}` }, Buffer.from(`value-${i}`));
      await admin.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `api/secret-${i}`, Body: ciphertext }));
    }
    admin.destroy();
    // The seeding's Encrypts came out of the same quota: start with it full.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = (await requestLog(endpoint.url)).length;

    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    const inProcess = Array.from({ length: options.tasks - processes }, async () => {
      const clients = awsClients({ endpoint: endpoint.url, region: REGION, credentials: TEST_CREDENTIALS });
      try {
        await loadSecrets({ bucket: BUCKET, env: 'fleet', services: ['api'], clients });
        return { ok: true, seconds: elapsed() };
      } catch (error) {
        return { ok: false, seconds: elapsed(), error: (error as Error).message.split('\n')[0] };
      } finally {
        clients.destroy();
      }
    });
    const execs = Array.from({ length: processes }, () => execTask(endpoint.url).then((result) => ({ ...result, seconds: elapsed() })));
    const [inProcessResults, execResults] = await Promise.all([Promise.all(inProcess), Promise.all(execs)]);

    const decrypts = (await requestLog(endpoint.url)).slice(before).filter((entry) => entry.operation === 'Decrypt');
    return {
      ...options,
      processes,
      floorSeconds: (options.tasks * options.secrets) / options.quota,
      inProcess: group(inProcessResults),
      execProcesses: group(execResults),
      decryptCalls: decrypts.length,
      throttled: decrypts.filter((entry) => entry.throttled === 'kms').length,
    };
  } finally {
    await endpoint.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function group(results: { ok: boolean; seconds: number; error?: string }[]): Group {
  return {
    started: results.filter((r) => r.ok).length,
    failures: results.filter((r) => !r.ok).length,
    seconds: results.filter((r) => r.ok).map((r) => r.seconds).sort((a, b) => a - b),
    firstFailure: results.find((r) => !r.ok)?.error,
  };
}

/** One task as ECS starts it: `kms-secrets exec -- true`, with its own process, clients and retries. */
function execTask(url: string): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const env = {
      PATH: process.env.PATH, AWS_ENDPOINT_URL: url, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true', SECRETS_BUCKET: BUCKET, SECRETS_ENV: 'fleet', SECRETS_SERVICES: 'api',
    };
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'kms-secrets.js'), 'exec', '--', 'true'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve(code === 0 ? { ok: true } : { ok: false, error: stderr.split('\n')[0] }));
  });
}

async function requestLog(url: string): Promise<RequestLogEntry[]> {
  return (await fetch(`${url}/_local/requests`)).json() as Promise<RequestLogEntry[]>;
}

export function fleetTable(f: FleetFigures): string {
  const percentile = (seconds: number[], p: number) => seconds[Math.min(seconds.length - 1, Math.floor(p * seconds.length))] ?? NaN;
  const row = (name: string, g: Group) => `| ${name} | ${g.started + g.failures} | ${g.failures} | ${percentile(g.seconds, 0.5).toFixed(1)} | ${percentile(g.seconds, 0.99).toFixed(1)} | ${(g.seconds.at(-1) ?? NaN).toFixed(1)} | ${(percentile(g.seconds, 0.99) / f.floorSeconds).toFixed(2)}× |`;
  const loaded = (f.inProcess.started + f.execProcesses.started) * f.secrets;
  return [
    `M = ${f.tasks} tasks × S = ${f.secrets} secrets, KMS quota Q = ${f.quota}/s: floor M·S/Q = ${f.floorSeconds.toFixed(1)} s. SDK retry mode adaptive, 8 attempts, deadline 30 s.`,
    '',
    '| tasks | count | failures | p50 start (s) | p99 start (s) | max (s) | p99 / floor |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('in process (own clients each)', f.inProcess),
    row('`kms-secrets exec` processes', f.execProcesses),
    '',
    `Decrypt calls including retries: ${f.decryptCalls} for ${loaded} secrets loaded (${(f.decryptCalls / Math.max(1, loaded)).toFixed(2)}×); throttled answers: ${f.throttled}.`
      + (f.inProcess.firstFailure ?? f.execProcesses.firstFailure ? ` First failure: ${f.inProcess.firstFailure ?? f.execProcesses.firstFailure}` : ''),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [tasks = 200, secrets = 50, quota = 1_000] = process.argv.slice(2).map(Number);
  process.stdout.write(`${fleetTable(await benchFleet({ tasks, secrets, quota }))}\n`);
}

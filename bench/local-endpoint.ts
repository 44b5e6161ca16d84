/**
 * The local endpoint's KMS throughput: Encrypt and Decrypt through the real SDK client with 16 calls in
 * flight, on loopback, with the endpoint in the benchmark's own process (as tests and the other
 * benchmarks run it) and in a process of its own (as `npm run local` runs it).
 * `npm run bench:local` prints the table; `benchLocalEndpoint` is what `npm run bench` calls.
 */
import { DecryptCommand, EncryptCommand, CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { awsClients } from '../lib/aws.ts';
import { start, TEST_CREDENTIALS } from '../local/index.ts';

export interface LocalEndpointBenchRow {
  readonly endpoint: 'in process' | 'own process';
  readonly operation: 'Encrypt' | 'Decrypt';
  readonly calls: number;
  readonly concurrency: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const CONCURRENCY = 16;
const CONTEXT = { env: 'bench', service: 'api', secret: 'password' };
const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export async function benchLocalEndpoint(options: { calls?: number } = {}): Promise<LocalEndpointBenchRow[]> {
  const calls = options.calls ?? 4000;
  const rows: LocalEndpointBenchRow[] = [];
  for (const [endpoint, launch] of [['in process', inProcess], ['own process', (dir: string) => ownProcess(dir)]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'local-endpoint-bench-'));
    const running = await launch(dir);
    try {
      const { kms } = awsClients({ endpoint: running.url, region: 'us-east-1', credentials: TEST_CREDENTIALS });
      rows.push(...(await measure(kms, calls)).map((row) => ({ endpoint, ...row })));
      kms.destroy();
    } finally {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

export function localEndpointTable(rows: LocalEndpointBenchRow[]): string {
  return [
    '| endpoint | operation | calls | concurrency | calls/s | p50 ms | p99 ms |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.endpoint} | ${r.operation} | ${r.calls} | ${r.concurrency} | ${Math.round(r.callsPerSecond)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} |`),
  ].join('\n');
}

export interface Running {
  readonly url: string;
  stop(): Promise<void>;
}

async function inProcess(dir: string): Promise<Running> {
  const endpoint = await start({ dir });
  return { url: endpoint.url, stop: () => endpoint.stop() };
}

/** `local/cli.ts` on a free port, with any further options (e.g. `--kms-quota 1000`); its first line names the URL. */
export async function ownProcess(dir: string, options: readonly string[] = []): Promise<Running> {
  const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['local/cli.ts', '--dir', dir, '--port', '0', ...options], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const url = /on (http:\/\/\S+),/.exec(output)?.[1];
    if (url) {
      child.stdout.resume();
      return { url, stop: () => new Promise((resolve) => child.once('exit', () => resolve()).kill('SIGTERM')) };
    }
  }
  throw new Error(`local/cli.ts exited before printing its URL: ${output}`);
}

async function measure(kms: KMSClient, calls: number): Promise<Omit<LocalEndpointBenchRow, 'endpoint'>[]> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'bench' }));
  const keyId = KeyMetadata!.Arn!;
  const plaintext = Buffer.alloc(64, 's');
  const encrypt = () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: CONTEXT }));
  await run(200, encrypt); // warm-up: connections, JIT
  const { CiphertextBlob } = await encrypt();
  const decrypt = () => kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: CONTEXT }));
  return [
    { operation: 'Encrypt', calls, concurrency: CONCURRENCY, ...(await run(calls, encrypt)) },
    { operation: 'Decrypt', calls, concurrency: CONCURRENCY, ...(await run(calls, decrypt)) },
  ];
}

/** `calls` calls of `call`, CONCURRENCY at a time: throughput and latency percentiles. */
async function run(calls: number, call: () => Promise<unknown>): Promise<{ callsPerSecond: number; p50Ms: number; p99Ms: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < calls) {
      next += 1;
      const t = performance.now();
      await call();
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { callsPerSecond: calls / seconds, p50Ms: percentile(0.5), p99Ms: percentile(0.99) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${localEndpointTable(await benchLocalEndpoint())}\n`);
}

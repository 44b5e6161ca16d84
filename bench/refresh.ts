/**
 * Rotation in a running task: what `write --refresh` and `exec --restart-on-change` ask of AWS while idle
 * and on a change, counted in the local endpoint's request log, with the time from an upload to the new
 * value in its file (or the app started again), and what the resident sidecar costs the task in CPU and
 * memory. The monthly figures are arithmetic on the measured counts at us-east-1 list prices.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RUNTIME_COMMAND } from '../test/support/cli.ts';
import { openStore, putSecrets, runtimeEnv, waitFor, type Store } from '../test/runtime/support.ts';

/** How often the benchmark's runtimes check: short, so that many checks fit in a few seconds. */
const INTERVAL_MS = 250;
const IDLE_CHECKS = 12;
/** S3 standard, us-east-1: LIST (and PUT) requests per 1,000; GET per 1,000; KMS per 10,000. */
const PRICE = { listPer1000: 0.005, getPer1000: 0.0004, kmsPer10000: 0.03 };
const CHECKS_PER_MONTH_AT_60S = (30 * 24 * 3600) / 60;

export interface RefreshFigures {
  readonly mode: string;
  readonly secrets: number;
  /** Per idle check, averaged over the idle checks. */
  readonly idle: { readonly lists: number; readonly gets: number; readonly kms: number };
  /** For one changed secret. */
  readonly change: { readonly lists: number; readonly gets: number; readonly kms: number };
  /** From the upload's answer until the new value is in its file, or the app runs again. */
  readonly changeSeconds: number;
  /** CPU time of the runtime's process per idle check, ms; its resident memory, MB. */
  readonly cpuMsPerCheck: number;
  readonly residentMb: number;
}

export async function benchRefresh(sizes: readonly number[] = [20, 1_500]): Promise<RefreshFigures[]> {
  const figures: RefreshFigures[] = [];
  for (const secrets of sizes) {
    const store = await openStore();
    try {
      await putSecrets(store, Object.fromEntries(Array.from({ length: secrets }, (_, i) => [`api/secret-${i}`, `value-${i}`])));
      figures.push(await measureSidecar(store, secrets));
      figures.push(await measureRestart(store, secrets));
    } finally {
      await store.close();
    }
  }
  return figures;
}

function counts(store: Store, from: number) {
  const requests = store.endpoint.requests().slice(from);
  return {
    lists: requests.filter((r) => r.operation === 'ListObjectsV2').length,
    gets: requests.filter((r) => r.operation === 'GetObject').length,
    kms: requests.filter((r) => r.service === 'kms').length,
  };
}

function startRuntime(store: Store, args: readonly string[]): { process: ChildProcess; stderr: () => string } {
  const [program, ...first] = RUNTIME_COMMAND;
  const child = spawn(program!, [...first, ...args], { cwd: store.scratch, env: runtimeEnv(store), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return { process: child, stderr: () => stderr };
}

/** Waits for the idle checks, measuring requests and the process's CPU time across them. */
async function idleChecks(store: Store, pid: number, secrets: number) {
  const lists = () => store.endpoint.requests().filter((r) => r.operation === 'ListObjectsV2').length;
  // Start counting at a check's end, so the span holds whole checks.
  const first = lists();
  await waitFor(() => lists() > first, 'a first idle check', 30_000);
  const from = store.endpoint.requests().length;
  const cpuBefore = cpuMs(pid);
  const startLists = lists();
  await waitFor(() => lists() >= startLists + IDLE_CHECKS, `${IDLE_CHECKS} idle checks`, 60_000);
  const measured = counts(store, from);
  const checks = measured.lists / Math.max(1, Math.ceil(secrets / 1000));
  return {
    idle: { lists: measured.lists / checks, gets: measured.gets / checks, kms: measured.kms / checks },
    cpuMsPerCheck: (cpuMs(pid) - cpuBefore) / checks,
    residentMb: residentMb(pid),
  };
}

async function measureSidecar(store: Store, secrets: number): Promise<RefreshFigures> {
  const dir = join(store.scratch, `files-${secrets}`);
  const sidecar = startRuntime(store, ['write', '--dir', dir, '--service', 'api', '--refresh', `${INTERVAL_MS}ms`]);
  try {
    await waitFor(() => sidecar.stderr().includes('checking for changes'), 'the first write', 60_000);
    const idle = await idleChecks(store, sidecar.process.pid!, secrets);
    const from = store.endpoint.requests().length;
    await putSecrets(store, { 'api/secret-0': 'rotated' });
    const uploaded = performance.now();
    await waitFor(() => readFileSync(join(dir, 'SECRET_0'), 'utf8') === 'rotated', 'the rotated value in its file', 30_000);
    const changeSeconds = (performance.now() - uploaded) / 1000;
    // The upload itself was one PutObject and one KMS Encrypt; they are not the sidecar's.
    const change = counts(store, from);
    return { mode: 'write --refresh', secrets, ...idle, change: { ...change, kms: change.kms - 1 }, changeSeconds };
  } finally {
    sidecar.process.kill('SIGTERM');
  }
}

async function measureRestart(store: Store, secrets: number): Promise<RefreshFigures> {
  const starts = join(store.scratch, `starts-${secrets}`);
  const app = ['sh', '-c', `echo started >> ${starts}; exec sleep 600`];
  const runtime = startRuntime(store, ['exec', '--service', 'api', '--restart-on-change', `${INTERVAL_MS}ms`, '--', ...app]);
  const started = () => { try { return readFileSync(starts, 'utf8').split('\n').filter(Boolean).length; } catch { return 0; } };
  try {
    await waitFor(() => started() === 1, 'the app to start', 60_000);
    const idle = await idleChecks(store, runtime.process.pid!, secrets);
    const from = store.endpoint.requests().length;
    await putSecrets(store, { 'api/secret-0': 'rotated again' });
    const uploaded = performance.now();
    await waitFor(() => started() === 2, 'the app to start again', 30_000);
    const changeSeconds = (performance.now() - uploaded) / 1000;
    const change = counts(store, from);
    return { mode: 'exec --restart-on-change', secrets, ...idle, change: { ...change, kms: change.kms - 1 }, changeSeconds };
  } finally {
    runtime.process.kill('SIGTERM');
  }
}

/** User plus system CPU time of a process, ms (Linux: /proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function residentMb(pid: number): number {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return rss ? Number(rss[1]) / 1024 : 0;
}

export function refreshTable(figures: readonly RefreshFigures[]): string {
  const lines = [
    `| mode | secrets | per idle check: LIST / GET / KMS | on one change: LIST / GET / KMS | upload → new value (s, interval ${INTERVAL_MS / 1000} s) | CPU per idle check (ms) | resident (MB) | idle cost per task per month at 60 s |`,
    '|---|---:|---|---|---:|---:|---:|---:|',
  ];
  for (const f of figures) {
    const monthly = CHECKS_PER_MONTH_AT_60S * (f.idle.lists * PRICE.listPer1000 / 1000 + f.idle.gets * PRICE.getPer1000 / 1000 + f.idle.kms * PRICE.kmsPer10000 / 10000);
    const triple = (c: { lists: number; gets: number; kms: number }) => `${round(c.lists)} / ${round(c.gets)} / ${round(c.kms)}`;
    lines.push(`| ${f.mode} | ${f.secrets} | ${triple(f.idle)} | ${triple(f.change)} | ${f.changeSeconds.toFixed(2)} | ${f.cpuMsPerCheck.toFixed(1)} | ${f.residentMb.toFixed(0)} | $${monthly.toFixed(3)} |`);
  }
  lines.push('', 'A fleet of 1,000 tasks costs 1,000 times the last column (one service each, one page of up to 1,000 keys per LIST); the jittered wait (90–100 % of the interval) adds about 5 %.');
  return lines.join('\n');
}

const round = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(refreshTable(await benchRefresh()));
}

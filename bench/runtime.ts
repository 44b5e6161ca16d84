/**
 * Container start: from starting the entrypoint process until the app runs, for N secrets of one service on
 * the local endpoint, for each form the runtime ships in: the single-file bundle on this Node (20, where exec
 * stays the app's parent) and on Node 24 (where exec replaces itself), each with the code cache made by its
 * Node, and the standalone executable (bun). The app is `date +%s%N`, which prints the moment it started.
 *
 * Next to each: the floor, the same requests made without the SDK clients (bench/http-floor.ts, run by the
 * same engine); a bare start of the same engine that only starts the app; the classic shell loop (one
 * `aws s3 cp --recursive`, then one `aws kms decrypt` process per file); what stays resident beside the app;
 * the same starts with 20 ms added to every S3 and KMS request, as in-region on AWS; and the start of each
 * form's process alone with each kind of compile cache. Every figure is the median of a few runs, the
 * forms taking turns so that load on the machine falls on all alike.
 */
import { build } from 'esbuild';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MAX_PARALLEL_CALLS } from '../runtime/concurrency.ts';
import { buildRuntimeBundle } from '../runtime/build.ts';
import { buildRuntimeExecutable, compileExecutable, hostTarget } from '../runtime/build-executable.ts';
import installNode24 from '../test/global-setup-node.ts';
import { openStore, putSecrets, runtimeEnv } from '../test/runtime/support.ts';
import { NODE_24 } from '../test/support/node-versions.ts';

/** What one form of the runtime is started as. */
interface Form {
  readonly name: string;
  readonly exec: readonly string[];
  readonly floor: readonly string[];
  /** The same engine starting the app and nothing else. */
  readonly bare: readonly string[];
  readonly bareEnv?: Record<string, string>;
}

export interface Timing {
  /** Median of the runs, seconds. */
  readonly median: number;
  /** Fastest of the runs: what the machine can do when other load leaves it alone. */
  readonly best: number;
}

export interface FormFigures {
  readonly form: string;
  /** By number of secrets. */
  readonly exec: Record<number, Timing>;
  readonly floor: Record<number, Timing>;
  readonly withLatency: Record<number, Timing>;
  readonly bare: Timing;
  /** RSS of processes other than the app once it runs, MB: 0 when exec became the app. */
  readonly residentMb: number;
}

export interface StartVariant {
  readonly variant: string;
  /** Process start to exit of `--version`, which evaluates the whole runtime. */
  readonly start: Timing;
}

export interface RuntimeBench {
  readonly sizes: readonly number[];
  readonly forms: readonly FormFigures[];
  readonly classic: Record<number, Timing>;
  readonly variants: readonly StartVariant[];
  readonly latencyMs: number;
  readonly load: { readonly start: number; readonly end: number };
}

export interface RuntimeBenchOptions {
  readonly sizes?: readonly number[];
  readonly classicSizes?: readonly number[];
  /** Runs per figure. @default 7 */
  readonly runs?: number;
  /** Runs per classic-loop figure. @default 3 */
  readonly classicRuns?: number;
}

/** Added to every S3 and KMS request in the latency rows: a request's round trip within a Region. */
const LATENCY_MS = 20;

/** The classic entrypoint of the blog posts, with the encryption context our ciphertext needs. */
const CLASSIC_LOOP = `set -eu
dir=$(mktemp -d)
aws s3 cp --recursive --quiet "s3://$SECRETS_BUCKET/$SERVICE/" "$dir" --endpoint-url "$AWS_ENDPOINT_URL"
for file in "$dir"/*; do
  name=$(basename "$file")
  variable=$(printf '%s' "$name" | tr 'a-z.-' 'A-Z__')
  value=$(aws kms decrypt --ciphertext-blob "fileb://$file" --encryption-context "env=$SECRETS_ENV,service=$SERVICE,secret=$name" \\
    --endpoint-url "$AWS_ENDPOINT_URL" --output text --query Plaintext | base64 -d)
  export "$variable=$value"
done
rm -rf "$dir"
exec date +%s%N`;

export async function benchRuntime(options: RuntimeBenchOptions = {}): Promise<RuntimeBench> {
  const sizes = options.sizes ?? [1, 20, 100];
  const classicSizes = options.classicSizes ?? [20];
  const runs = options.runs ?? 7;
  const classicRuns = options.classicRuns ?? 3;
  const loadAtStart = loadavg()[0]!;
  const work = mkdtempSync(join(tmpdir(), 'kms-secrets-bench-'));
  const store = await openStore('bench');
  try {
    const built = await buildForms(work);
    const app = ['date', '+%s%N'];
    const appPath = spawnSync('sh', ['-c', 'command -v date'], { encoding: 'utf8' }).stdout.trim();
    const figures = built.forms.map((form) => ({ form, exec: {} as Record<number, Timing>, floor: {} as Record<number, Timing>, withLatency: {} as Record<number, Timing> }));
    const classic: Record<number, Timing> = {};
    const envOf = (secrets: number) => runtimeEnv(store, { SECRETS_SERVICES: `n${secrets}`, SERVICE: `n${secrets}` });

    for (const secrets of sizes) {
      await putSecrets(store, Object.fromEntries(Array.from({ length: secrets }, (_, i) => [`n${secrets}/secret-${i}`, `bench-value-${i}`])));
      const env = envOf(secrets);
      const times = await takingTurns(runs, figures.flatMap(({ form }) => [
        () => untilAppRuns([...form.exec, 'exec', '--', ...app], env),
        () => untilAppRuns([...form.floor, appPath, app[1]!], env),
      ]));
      figures.forEach((figure, i) => {
        figure.exec[secrets] = timing(times[2 * i]!);
        figure.floor[secrets] = timing(times[2 * i + 1]!);
      });
      if (classicSizes.includes(secrets)) classic[secrets] = timing((await takingTurns(classicRuns, [() => untilAppRuns(['sh', '-c', CLASSIC_LOOP], env)]))[0]!);
    }

    const bareScript = `const a=${JSON.stringify([appPath, ...app])};typeof process.execve==='function'?process.execve(a[0],a.slice(1),process.env):require('child_process').spawn(a[0],a.slice(2),{stdio:'inherit'})`;
    const bare = await takingTurns(runs, built.forms.map((form) => () => untilAppRuns([...form.bare, bareScript], { ...envOf(sizes[0]!), ...form.bareEnv })));
    const resident: number[] = [];
    for (const form of built.forms) resident.push(await residentBesideApp(form, envOf(sizes.includes(20) ? 20 : sizes[0]!)));

    store.endpoint.faults.add({ service: 's3', kind: 'latency', ms: LATENCY_MS });
    store.endpoint.faults.add({ service: 'kms', kind: 'latency', ms: LATENCY_MS });
    for (const secrets of sizes) {
      const times = await takingTurns(runs, built.forms.map((form) => () => untilAppRuns([...form.exec, 'exec', '--', ...app], envOf(secrets))));
      figures.forEach((figure, i) => (figure.withLatency[secrets] = timing(times[i]!)));
    }
    store.endpoint.faults.clear();

    const variantTimes = await takingTurns(runs * 2, built.variants.map((variant) => () => untilExit(variant.command, variant.env)));
    return {
      sizes,
      forms: figures.map((figure, i) => ({ ...figure, form: figure.form.name, bare: timing(bare[i]!), residentMb: resident[i]! })),
      classic,
      variants: built.variants.map((variant, i) => ({ variant: variant.name, start: timing(variantTimes[i]!) })),
      latencyMs: LATENCY_MS,
      load: { start: loadAtStart, end: loadavg()[0]! },
    };
  } finally {
    await store.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Builds every form, its floor, and the compile-cache variants of the start-up comparison. */
async function buildForms(work: string): Promise<{ forms: Form[]; variants: { name: string; command: string[]; env?: Record<string, string> }[] }> {
  installNode24();
  const node24Version = spawnSync(NODE_24, ['--version'], { encoding: 'utf8' }).stdout.trim();
  // The bundle as `npm run build:runtime` leaves it: with the code cache of the Node that built it.
  const bundle = join(work, 'this-node', 'kms-secrets-runtime.mjs');
  await buildRuntimeBundle(bundle);
  // As an image with Node 24 has it after `node kms-secrets-runtime.mjs code-cache`.
  const bundle24 = join(work, 'node-24', 'kms-secrets-runtime.mjs');
  mkdirSync(dirname(bundle24));
  copyFileSync(bundle, bundle24);
  execFileSync(NODE_24, [bundle24, 'code-cache'], { stdio: 'ignore' });
  const uncached = join(work, 'uncached', 'kms-secrets-runtime.mjs');
  mkdirSync(dirname(uncached));
  copyFileSync(bundle, uncached);
  const target = hostTarget()!;
  const executable = buildRuntimeExecutable(target, join(work, 'kms-secrets-runtime'));

  const floorSource = fileURLToPath(new URL('http-floor.ts', import.meta.url));
  const floor = join(work, 'http-floor.cjs');
  await build({
    entryPoints: [floorSource], outfile: floor, bundle: true, platform: 'node', target: 'node20',
    format: 'cjs', minifyWhitespace: true, minifySyntax: true, legalComments: 'none', logLevel: 'warning',
  });
  const floorExecutable = compileExecutable(floorSource, target, join(work, 'http-floor'));

  // Node's own compile cache (module.enableCompileCache, NODE_COMPILE_CACHE) works on files Node loads as
  // modules, not on the bundle's node:vm text: the runtime as plain CommonJS, with a cache made beforehand.
  const plain = join(work, 'plain', 'kms-secrets-runtime.cjs');
  await build({
    entryPoints: [fileURLToPath(new URL('../runtime/executable-entry.ts', import.meta.url))], outfile: plain, bundle: true, platform: 'node',
    target: 'node20', format: 'cjs', minifyWhitespace: true, minifySyntax: true, legalComments: 'none', logLevel: 'warning',
  });
  const compileCache = { NODE_COMPILE_CACHE: join(work, 'node-compile-cache') };
  for (let i = 0; i < 3; i++) execFileSync(NODE_24, [plain, '--version'], { env: { ...process.env, ...compileCache }, stdio: 'ignore' });
  const cacheFiles = readdirSync(compileCache.NODE_COMPILE_CACHE, { recursive: true }).length;

  return {
    forms: [
      { name: `Node ${process.version} bundle`, exec: [process.execPath, bundle], floor: [process.execPath, floor], bare: [process.execPath, '-e'] },
      { name: `Node ${node24Version} bundle`, exec: [NODE_24, bundle24], floor: [NODE_24, floor], bare: [NODE_24, '-e'] },
      // BUN_BE_BUN=1 makes a compiled executable run as bun itself: the same engine, starting a script.
      { name: `executable (bun ${bunVersion(executable)})`, exec: [executable], floor: [floorExecutable], bare: [executable, '-e'], bareEnv: { BUN_BE_BUN: '1' } },
    ],
    variants: [
      { name: `Node ${process.version}, bundle with its code cache`, command: [process.execPath, bundle, '--version'] },
      { name: `Node ${process.version}, bundle without a code cache`, command: [process.execPath, uncached, '--version'] },
      { name: `Node ${node24Version}, bundle with its code cache`, command: [NODE_24, bundle24, '--version'] },
      { name: `Node ${node24Version}, bundle without a code cache`, command: [NODE_24, uncached, '--version'] },
      { name: `Node ${node24Version}, plain CommonJS with Node's compile cache (${cacheFiles} cache entries)`, command: [NODE_24, plain, '--version'], env: compileCache },
      { name: `Node ${node24Version}, plain CommonJS without a cache`, command: [NODE_24, plain, '--version'] },
      { name: 'executable, bytecode compiled in', command: [executable, '--version'] },
    ],
  };
}

function bunVersion(executable: string): string {
  return /on bun (\S+):/.exec(execFileSync(executable, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
}

/** Runs each task `runs` times, taking turns; the seconds of each task's runs. */
async function takingTurns(runs: number, tasks: readonly (() => Promise<number>)[]): Promise<number[][]> {
  const seconds = tasks.map(() => [] as number[]);
  for (let run = 0; run < runs; run++) {
    for (const [i, task] of tasks.entries()) seconds[i]!.push(await task());
  }
  return seconds;
}

/** Seconds from spawning the entrypoint until the app printed its start time (both wall clock). */
function untilAppRuns([command, ...args]: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedMs = performance.timeOrigin + performance.now();
    const child = spawn(command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const appStartedMs = Number(BigInt(stdout.trim() || '0') / 1000n) / 1000;
      if (code === 0 && appStartedMs > startedMs) resolve((appStartedMs - startedMs) / 1000);
      else reject(new Error(`${command} exited ${code}:\n${stderr.slice(-2000)}`));
    });
  });
}

/** Seconds from spawning until the process exited 0. */
function untilExit([command, ...args]: readonly string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command!, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${command} exited ${code}`))));
  });
}

/**
 * What the form leaves beside the app once it runs: 0 where the started process became the app (its PID
 * now runs `sleep`), else the RSS of the wrapper that stays its parent.
 */
async function residentBesideApp(form: Form, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(form.exec[0]!, [...form.exec.slice(1), 'exec', '--', 'sleep', '3'], { env, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('close', resolve));
  const proc = (file: string) => readFileSync(`/proc/${child.pid}/${file}`, 'utf8');
  try {
    for (const until = Date.now() + 10_000; Date.now() < until; await sleep(20)) {
      if (/^Name:\s+sleep$/m.test(proc('status'))) return 0;
      if (proc(`task/${child.pid}/children`).trim() !== '') {
        await sleep(500); // the app has started: what the wrapper keeps from now on
        return Number(/^VmRSS:\s+(\d+) kB/m.exec(proc('status'))![1]) / 1024;
      }
    }
    throw new Error(`${form.name}: the app did not start within 10 s`);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function timing(seconds: readonly number[]): Timing {
  const sorted = [...seconds].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, best: sorted[0]! };
}

const s = (t: Timing) => `${t.median.toFixed(3)} (${t.best.toFixed(3)})`;
const ms = (seconds: number) => `${(seconds * 1000).toFixed(0)} ms`;

export function runtimeTable(bench: RuntimeBench): string {
  const { sizes, forms, classic } = bench;
  const lines = [
    `Load average (1 min) ${bench.load.start.toFixed(2)} at the start, ${bench.load.end.toFixed(2)} at the end. Seconds, median (best) of the runs.`,
    '',
    '| form | secrets | `exec` | floor: same requests, no SDK client | exec ÷ floor | classic loop | classic ÷ exec |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const figure of forms) {
    for (const n of sizes) {
      const loop = classic[n];
      lines.push(`| ${figure.form} | ${n} | ${s(figure.exec[n]!)} | ${s(figure.floor[n]!)} | ${(figure.exec[n]!.median / figure.floor[n]!.median).toFixed(2)}× | `
        + `${loop ? loop.median.toFixed(2) : 'not run'} | ${loop ? `${(loop.median / figure.exec[n]!.median).toFixed(0)}×` : ''} |`);
    }
  }

  const at = (n: number) => (sizes.includes(n) ? n : undefined);
  const [one, twenty, hundred] = [at(1), at(20), at(100)];
  lines.push('', `| measure | ${forms.map((f) => f.form).join(' | ')} | target |`, `|---|${forms.map(() => '---:').join('|')}|---|`);
  if (twenty !== undefined && classic[twenty]) {
    lines.push(`| classic loop ÷ exec at N=20 | ${forms.map((f) => `${(classic[twenty]!.median / f.exec[twenty]!.median).toFixed(0)}×`).join(' | ')} | ≥ 50× for the fastest form |`);
  }
  if (hundred !== undefined) {
    lines.push(`| exec ÷ no-SDK floor at N=100 | ${forms.map((f) => `${(f.exec[hundred]!.median / f.floor[hundred]!.median).toFixed(2)}×`).join(' | ')} | ≤ 1.7× |`);
  }
  if (one !== undefined) {
    lines.push(`| start overhead: exec at N=1 minus a bare start of the same engine | ${forms.map((f) => `${ms(f.exec[one]!.median - f.bare.median)} (bare ${ms(f.bare.median)})`).join(' | ')} | ≤ 80 ms |`);
  }
  lines.push(`| memory held after the app starts, beyond the app | ${forms.map((f) => (f.residentMb === 0 ? '0 (no process)' : `${f.residentMb.toFixed(0)} MB RSS`)).join(' | ')} | 0 with execve |`);

  const requests = (n: number) => 1 + 2 * n; // one listing, then GetObject and Decrypt per secret
  lines.push('', `With ${bench.latencyMs} ms added to every S3 and KMS request (the local endpoint's latency fault). Made one after another, `
    + `N secrets are ${requests(1)}, ${requests(20)} and ${requests(100)} requests; exec makes up to ${MAX_PARALLEL_CALLS} at a time, each secret's GetObject then its Decrypt.`, '',
  `| form | secrets | \`exec\` without added latency | with ${bench.latencyMs} ms per request | added | one request after another would add |`, '|---|---:|---:|---:|---:|---:|');
  for (const figure of forms) {
    for (const n of sizes) {
      lines.push(`| ${figure.form} | ${n} | ${s(figure.exec[n]!)} | ${s(figure.withLatency[n]!)} | ${ms(figure.withLatency[n]!.median - figure.exec[n]!.median)} | ${ms(requests(n) * bench.latencyMs / 1000)} |`);
    }
  }

  lines.push('', 'Start of the process alone (`--version`, which evaluates the whole runtime), start to exit, by compile cache:', '', '| engine and cache | seconds |', '|---|---:|');
  for (const variant of bench.variants) lines.push(`| ${variant.variant} | ${s(variant.start)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(runtimeTable(await benchRuntime()));
}

/**
 * Container start time: from starting the entrypoint process until the app runs, for N secrets of one
 * service on the local endpoint. The app is `date +%s%N`, which prints the moment it started. Compared:
 * `kms-secrets exec` from the single-file bundle with its code cache (as `npm run build:runtime` leaves it,
 * or an image that ran `code-cache`) and without; the floor of a Node.js process making the same requests
 * without the SDK clients (bench/http-floor.ts, bundled the same way, no code cache); and the classic
 * shell loop: one `aws s3 cp --recursive`, then one `aws kms decrypt` process per file. Each figure is the
 * median of a few runs, the variants taking turns so that load on the machine falls on all alike.
 */
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildRuntimeBundle } from '../runtime/build.ts';
import { openStore, putSecrets, runtimeEnv } from '../test/runtime/support.ts';

export interface RuntimeBenchRow {
  readonly secrets: number;
  /** Median of the runs. */
  readonly execSeconds: number;
  /** Fastest of the runs: what the machine can do when other load leaves it alone. */
  readonly execBestSeconds: number;
  /** Median of the runs of the same bundle without its code cache (an image that did not run `code-cache`). */
  readonly execUncachedSeconds: number;
  /** Median of the runs of bench/http-floor.ts: the same requests without the SDK clients. */
  readonly floorSeconds: number;
  /** Median of its runs; only for the small N the classic loop can do in reasonable time. */
  readonly classicSeconds?: number;
}

export interface RuntimeBenchOptions {
  readonly sizes?: readonly number[];
  readonly classicSizes?: readonly number[];
  /** Runs per exec figure. @default 7 */
  readonly runs?: number;
  /** Runs per classic-loop figure. @default 3 */
  readonly classicRuns?: number;
}

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

export async function benchRuntime(options: RuntimeBenchOptions = {}): Promise<RuntimeBenchRow[]> {
  const sizes = options.sizes ?? [1, 10, 20, 100, 1_000];
  const classicSizes = new Set(options.classicSizes ?? [1, 10, 20]);
  const runs = options.runs ?? 7;
  const classicRuns = options.classicRuns ?? 3;
  const work = mkdtempSync(join(tmpdir(), 'kms-secrets-bench-'));
  const store = await openStore('bench');
  try {
    const bundle = join(work, 'kms-secrets-runtime.mjs');
    await buildRuntimeBundle(bundle);
    const uncached = join(work, 'uncached', 'kms-secrets-runtime.mjs');
    mkdirSync(dirname(uncached));
    copyFileSync(bundle, uncached);
    const floor = join(work, 'http-floor.cjs');
    await build({
      entryPoints: [fileURLToPath(new URL('http-floor.ts', import.meta.url))], outfile: floor, bundle: true, platform: 'node', target: 'node20',
      format: 'cjs', minifyWhitespace: true, minifySyntax: true, legalComments: 'none', logLevel: 'warning',
    });
    const rows: RuntimeBenchRow[] = [];
    for (const secrets of sizes) {
      const service = `n${secrets}`;
      await putSecrets(store, Object.fromEntries(Array.from({ length: secrets }, (_, i) => [`${service}/secret-${i}`, `bench-value-${i}`])));
      const env = runtimeEnv(store, { SECRETS_SERVICES: service, SERVICE: service });
      const times: number[] = [];
      const uncachedTimes: number[] = [];
      const floorTimes: number[] = [];
      for (let run = 0; run < runs; run++) {
        times.push(await untilAppRuns(process.execPath, [bundle, 'exec', '--', 'date', '+%s%N'], env));
        uncachedTimes.push(await untilAppRuns(process.execPath, [uncached, 'exec', '--', 'date', '+%s%N'], env));
        floorTimes.push(await untilAppRuns(process.execPath, [floor, 'date', '+%s%N'], env));
      }
      const classicTimes: number[] = [];
      for (let run = 0; classicSizes.has(secrets) && run < classicRuns; run++) classicTimes.push(await untilAppRuns('sh', ['-c', CLASSIC_LOOP], env));
      rows.push({
        secrets,
        execSeconds: median(times),
        execBestSeconds: Math.min(...times),
        execUncachedSeconds: median(uncachedTimes),
        floorSeconds: median(floorTimes),
        classicSeconds: classicTimes.length > 0 ? median(classicTimes) : undefined,
      });
    }
    return rows;
  } finally {
    await store.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export function runtimeTable(rows: readonly RuntimeBenchRow[]): string {
  const lines = [
    '| secrets | `kms-secrets exec`, bundle: median (best) s | without code cache: median s | floor: same requests, no SDK client, median s | classic loop: `aws s3 cp` + `aws kms decrypt` per file, median s | classic ÷ exec median (best) |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const classic = row.classicSeconds === undefined ? 'not run' : row.classicSeconds.toFixed(2);
    const ratio = row.classicSeconds === undefined
      ? ''
      : `${(row.classicSeconds / row.execSeconds).toFixed(0)}× (${(row.classicSeconds / row.execBestSeconds).toFixed(0)}×)`;
    lines.push(`| ${row.secrets} | ${row.execSeconds.toFixed(3)} (${row.execBestSeconds.toFixed(3)}) | ${row.execUncachedSeconds.toFixed(3)} | ${row.floorSeconds.toFixed(3)} | ${classic} | ${ratio} |`);
  }
  const at = (n: number) => rows.find((row) => row.secrets === n);
  const [one, hundred, twenty] = [at(1), at(100), at(20)];
  if (one && hundred) {
    lines.push('', `N=100 takes ${(hundred.execSeconds / one.execSeconds).toFixed(2)}× (best: ${(hundred.execBestSeconds / one.execBestSeconds).toFixed(2)}×; `
      + `without code cache: ${(hundred.execUncachedSeconds / one.execUncachedSeconds).toFixed(2)}×) the time of N=1 (target ≤ 1.5×); `
      + `the floor without SDK clients takes ${(hundred.floorSeconds / one.floorSeconds).toFixed(2)}×.`);
  }
  if (twenty?.classicSeconds) {
    lines.push(`At N=20 exec is ${(twenty.classicSeconds / twenty.execSeconds).toFixed(0)}× (best: ${(twenty.classicSeconds / twenty.execBestSeconds).toFixed(0)}×; `
      + `without code cache: ${(twenty.classicSeconds / twenty.execUncachedSeconds).toFixed(0)}×) faster than the classic loop (target ≥ 50×); `
      + `the floor without SDK clients is ${(twenty.classicSeconds / twenty.floorSeconds).toFixed(0)}× faster.`);
  }
  return lines.join('\n');
}

/** Seconds from spawning the entrypoint until the app printed its start time (both wall clock). */
function untilAppRuns(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedMs = performance.timeOrigin + performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(runtimeTable(await benchRuntime()));
}

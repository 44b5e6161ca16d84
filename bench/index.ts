/**
 * `npm run bench`: every benchmark of the project in one run, printed as markdown and written to
 * bench/RESULTS.md with the machine and the date. The machines are shared and noisy: compare the ratios
 * within one run, not figures across runs.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEncrypt, encryptBenchTable } from './encrypt.ts';
import { benchFleets, fleetTable } from './fleet.ts';
import { benchLocalEndpoint, localEndpointTable } from './local-endpoint.ts';
import { benchRefresh, refreshTable } from './refresh.ts';
import { benchRuntime, runtimeTable } from './runtime.ts';
import { benchSynthAndPlan, synthPlanTable } from './synth-plan.ts';

interface Section {
  readonly title: string;
  readonly what: string;
  run(): Promise<string>;
}

const SECTIONS: Section[] = [
  {
    title: 'Container start: each form of the runtime against the classic loop',
    what: 'Process start until the app runs, N secrets of one service on the local endpoint, for the bundle on Node 20 and on Node 24 and the standalone executable. '
      + 'Targets: at N = 20 at least 50× faster than the classic loop for the fastest form; exec within 1.7× of the no-SDK floor at N = 100; '
      + 'start overhead (exec at N = 1 minus a bare start of the same engine) at most 80 ms; nothing resident beside the app where exec replaces itself.',
    run: async () => runtimeTable(await benchRuntime()),
  },
  {
    title: 'Rotation in a running task: refresh and restart-on-change',
    what: 'A `write --refresh` sidecar and an `exec --restart-on-change` wrapper (bundle on this Node) checking every 0.25 s, for one service of N secrets: '
      + 'requests per idle check and for one changed secret (from the local endpoint\'s request log), the time from the upload\'s answer to the new value in its file or the app started again, '
      + 'CPU per idle check and resident memory, and the idle checks\' cost per task per month at 60 s (us-east-1 list prices). Target: no GET and no KMS call while idle.',
    run: async () => refreshTable(await benchRefresh()),
  },
  {
    title: 'Encrypt and re-encrypt',
    what: 'One `npm run encrypt` end to end (piped input, local endpoint; target: median under 0.5 s), and `reencrypt` throughput over 1,000 files.',
    run: async () => encryptBenchTable(await benchEncrypt({ reencryptFiles: 1_000 })),
  },
  {
    title: 'A fleet starting at once under the KMS quota',
    what: 'M tasks start together, each loading the same S secrets, against the local endpoint (its own process) with a KMS quota of Q cryptographic calls/s. '
      + 'The issue\'s default fleet, M = 200, S = 50, Q = 1,000/s (floor M·S/Q = 10 s), runs as in-process tasks, each with its own SDK clients and retry state; '
      + 'a fleet a tenth its size with the same floor and the same share of the quota per task runs once in process and once as real `kms-secrets exec` processes, to check the model. '
      + 'Each fleet also runs without a quota: what this machine\'s CPUs allow. Targets: 0 failures; p99 start ≤ 1.5× the floor; Decrypt calls including retries ≤ 1.3× the secrets loaded.',
    run: async () => fleetTable(await benchFleets()),
  },
  {
    title: 'Local endpoint throughput',
    what: 'KMS Encrypt and Decrypt through the real SDK client, concurrency 16, on loopback.',
    run: async () => localEndpointTable(await benchLocalEndpoint()),
  },
  {
    title: 'Synth and plan time',
    what: 'One env with N ciphertext files in ten services: whole `cdktf synth` and offline `cdktf plan` processes, and `terraform plan` run directly in the synthesized folder. '
      + 'Up to 1,000 files: the key policy names every declared secret, and KMS holds 32 KB, about 1,300 names of 20 characters per env.',
    run: async () => synthPlanTable(await benchSynthAndPlan([10, 100, 1_000], 1_000)),
  },
];

function machine(): string {
  const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? 'not found';
  return [
    `- date: ${new Date().toISOString()}`,
    `- CPU: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}; memory ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average at start ${loadavg().map((l) => l.toFixed(2)).join(', ')}`,
    `- Node.js ${process.version}; ${terraform}`,
  ].join('\n');
}

const only = process.argv.slice(2).map((word) => word.toLowerCase());
const chosen = only.length === 0 ? SECTIONS : SECTIONS.filter((s) => only.some((word) => s.title.toLowerCase().includes(word)));
const parts = ['# Benchmark results', '', 'Written by `npm run bench`. Compare ratios within one run: the machines are shared.', '', machine()];
process.stdout.write(`${parts.join('\n')}\n`);
for (const section of chosen) {
  // Each part is printed as soon as it is done; a failing part is reported and the others still run.
  const table = await section.run().catch((error: Error) => `**failed:** ${error.message.split('\n')[0]}`);
  const text = ['', `## ${section.title}`, '', section.what, '', table];
  process.stdout.write(`${text.join('\n')}\n`);
  parts.push(...text);
}
if (only.length === 0) writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'RESULTS.md'), `${parts.join('\n')}\n`);

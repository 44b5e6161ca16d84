/**
 * The encryption helper's speed on the local endpoint:
 *  - one `kms-secrets encrypt` end to end (process start to exit, value piped in), median of N runs:
 *    through `npm run encrypt` as a developer types it, the bin it runs (bin/kms-secrets.js: the esbuild
 *    bundle), and the sources through tsx; beside what the time is made of: a bare node start, the CLI's
 *    start without work (--help), npm run's own overhead;
 *  - `kms-secrets reencrypt` over 1,000 secrets, as files per second (process start included).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { encryptSecret } from '../lib/cipher.ts';
import { localProject, startAws, type Aws } from '../test/scripts/support.ts';
import { REPO_ROOT, type TestProject } from '../test/support/project.ts';

export interface EncryptBenchRow {
  readonly what: string;
  readonly runs: number;
  readonly medianSeconds: number;
  readonly minSeconds: number;
}

export interface ReencryptBenchRow {
  readonly files: number;
  readonly seconds: number;
  readonly filesPerSecond: number;
}

export interface EncryptBenchResult {
  readonly encrypt: EncryptBenchRow[];
  readonly reencrypt: ReencryptBenchRow;
}

const BIN = join(REPO_ROOT, 'bin', 'kms-secrets.js');
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

export async function benchEncrypt(options: { runs?: number; reencryptFiles?: number } = {}): Promise<EncryptBenchResult> {
  const runs = options.runs ?? 15;
  const aws = await startAws();
  const project = localProject();
  const npmProject = mkdtempSync(join(tmpdir(), 'kms-secrets-bench-npm-'));
  try {
    const env = aws.cliEnv();
    let secret = 0;
    const encryptArgs = () => ['encrypt', `bench/value-${secret++}`];
    await timed(process.execPath, [BIN, ...encryptArgs()], project.root, env, 'warm-up'); // builds the bundle if stale
    writeFileSync(join(npmProject, 'package.json'), JSON.stringify({ name: 'npm-overhead', private: true, scripts: { noop: 'true' } }));
    // The project's own npm script, in the temp project (npm runs scripts in the package's folder).
    writeFileSync(join(project.root, 'package.json'), JSON.stringify({ name: 'bench-project', private: true, scripts: { encrypt: `node ${BIN} encrypt` } }));
    const encrypt: EncryptBenchRow[] = [
      await repeat('node -e 0 (a bare node start)', runs, () => timed(process.execPath, ['-e', '0'], project.root, env)),
      await repeat('kms-secrets --help (CLI start, bundle)', runs, () => timed(process.execPath, [BIN, 'encrypt', '--help'], project.root, env)),
      await repeat('kms-secrets encrypt (bin/kms-secrets.js: bundle)', runs, () => timed(process.execPath, [BIN, ...encryptArgs()], project.root, env, 'v')),
      await repeat('tsx scripts/cli.ts encrypt (sources)', runs, () => timed(TSX, [join(REPO_ROOT, 'scripts', 'cli.ts'), ...encryptArgs()], project.root, env, 'v')),
      await repeat('npm run encrypt (as a developer runs it)', runs, () => timed('npm', ['run', '-s', 'encrypt', '--', encryptArgs()[1]!], project.root, npmEnv(env), 'v')),
      await repeat('npm run (its own overhead, script `true`)', runs, () => timed('npm', ['run', '-s', 'noop'], npmProject, npmEnv(env))),
    ];
    return { encrypt, reencrypt: await benchReencrypt(aws, project, options.reencryptFiles ?? 1_000) };
  } finally {
    rmSync(npmProject, { recursive: true, force: true });
    project.remove();
    await aws.close();
  }
}

/** npm needs the user's PATH and HOME (its config and cache) besides the CLI's environment. */
function npmEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, HOME: process.env.HOME, PATH: process.env.PATH };
}

async function benchReencrypt(aws: Aws, project: TestProject, files: number): Promise<ReencryptBenchRow> {
  // Seeded in-process with lib/cipher.ts: 1,000 CLI runs would measure process starts, not re-encryption.
  for (let i = 0; i < files; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, files - i) }, async (_, j) => {
      const ref = { env: 'demo', service: `svc-${(i + j) % 10}`, name: `secret-${i + j}` };
      const { ciphertext } = await encryptSecret(aws.clients.kms, aws.keyId, ref, Buffer.from(`value-${i + j}`));
      await writeFileAtomic(join(project.root, 'secrets', ref.env, ref.service, ref.name), ciphertext);
    }));
  }
  await aws.createKey('alias/kms-secrets/demo-next');
  const seconds = await timed(process.execPath, [BIN, 'reencrypt', '--env', 'demo', '--to-key', 'alias/kms-secrets/demo-next'], project.root, aws.cliEnv());
  return { files, seconds, filesPerSecond: files / seconds };
}

async function repeat(what: string, runs: number, run: () => Promise<number>): Promise<EncryptBenchRow> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await run());
  times.sort((a, b) => a - b);
  return { what, runs, medianSeconds: times[Math.floor(times.length / 2)]!, minSeconds: times[0]! };
}

/** Seconds from spawning the process until it exited; a failed run fails the benchmark. */
function timed(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, input = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdin.end(input);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve((performance.now() - started) / 1000);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

export function encryptBenchTable(result: EncryptBenchResult): string {
  const lines = ['| measured (process start to exit) | runs | median (s) | fastest (s) |', '|---|---:|---:|---:|'];
  for (const row of result.encrypt) lines.push(`| ${row.what} | ${row.runs} | ${row.medianSeconds.toFixed(3)} | ${row.minSeconds.toFixed(3)} |`);
  const { files, seconds, filesPerSecond } = result.reencrypt;
  lines.push('', '| reencrypt | files | total (s) | files/s |', '|---|---:|---:|---:|');
  lines.push(`| kms-secrets reencrypt --env demo --to-key … | ${files} | ${seconds.toFixed(2)} | ${filesPerSecond.toFixed(0)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(encryptBenchTable(await benchEncrypt()));
}

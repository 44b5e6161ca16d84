/**
 * Synth and plan time of the CDKTF app for trees of N ciphertext files (one env, ten services): whole
 * `cdktf synth` and `cdktf plan` processes, as a user runs them, and `terraform plan` run directly in the
 * synthesized folder, which shows what the cdktf CLI adds on top of Terraform.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cdktfInvocation, runCdktf } from '../scripts/cdktf.ts';
import { ADMINISTERED, fakeCiphertext, makeProject } from '../test/support/project.ts';
import { envWithoutAws } from '../test/support/terraform.ts';

export interface SynthPlanRow {
  readonly files: number;
  readonly synthSeconds: number;
  /** `cdktf plan`, only up to `cdktfPlanUpTo` files: its terminal UI renders a large plan very slowly. */
  readonly cdktfPlanSeconds?: number;
  readonly terraformPlanSeconds: number;
}

export async function benchSynthAndPlan(sizes: readonly number[], cdktfPlanUpTo = 1_000): Promise<SynthPlanRow[]> {
  const rows: SynthPlanRow[] = [];
  const env = envWithoutAws();
  for (const files of sizes) {
    const project = makeProject({ app: true, settings: ADMINISTERED });
    try {
      for (let i = 0; i < files; i++) project.write(`secrets/bench/svc-${i % 10}/secret-${i}`, fakeCiphertext('kms', 200));
      const synthSeconds = await timed(() => runCdktf(project.root, ['synth'], env));
      const cdktfPlanSeconds = files <= cdktfPlanUpTo
        ? await timed(() => runCdktf(project.root, ['plan', 'bench', '--var', 'offline_plan=true'], env))
        : undefined;
      const stackDir = join(project.root, 'cdktf.out', 'stacks', 'bench');
      const terraformEnv = cdktfInvocation(project.root, ['plan'], env).env;
      await timed(() => run('terraform', ['init', '-input=false'], stackDir, terraformEnv));
      const terraformPlanSeconds = await timed(() => run('terraform', ['plan', '-input=false', '-lock=false', '-var', 'offline_plan=true'], stackDir, terraformEnv));
      rows.push({ files, synthSeconds, cdktfPlanSeconds, terraformPlanSeconds });
    } finally {
      project.remove();
    }
  }
  return rows;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
    child.stderr.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function timed(step: () => Promise<{ code: number; output: string }>): Promise<number> {
  const start = performance.now();
  const result = await step();
  if (result.code !== 0) throw new Error(`benchmark step failed:\n${result.output.slice(-2000)}`);
  return (performance.now() - start) / 1000;
}

export function synthPlanTable(rows: readonly SynthPlanRow[]): string {
  const lines = ['| secret files | `cdktf synth` (s) | `cdktf plan`, offline (s) | `terraform plan` in cdktf.out (s) |', '|---:|---:|---:|---:|'];
  for (const row of rows) {
    const cdktfPlan = row.cdktfPlanSeconds === undefined ? 'not run' : row.cdktfPlanSeconds.toFixed(1);
    lines.push(`| ${row.files} | ${row.synthSeconds.toFixed(1)} | ${cdktfPlan} | ${row.terraformPlanSeconds.toFixed(1)} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number);
  console.log(synthPlanTable(await benchSynthAndPlan(sizes.length > 0 ? sizes : [10, 100, 1_000])));
}

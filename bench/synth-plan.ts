/**
 * Synth and plan time of the CDKTF app for trees of N ciphertext files (one env, ten services), each a
 * whole `cdktf synth` / `cdktf plan --var offline_plan=true` process, as a user runs it.
 */
import { performance } from 'node:perf_hooks';
import { runCdktf } from '../scripts/cdktf.ts';
import { fakeCiphertext, makeProject } from '../test/support/project.ts';
import { envWithoutAws } from '../test/support/terraform.ts';

export interface SynthPlanRow {
  readonly files: number;
  readonly synthSeconds: number;
  readonly planSeconds?: number;
}

export async function benchSynthAndPlan(sizes: readonly number[], planUpTo = 1_000): Promise<SynthPlanRow[]> {
  const rows: SynthPlanRow[] = [];
  for (const files of sizes) {
    const project = makeProject({ app: true });
    try {
      for (let i = 0; i < files; i++) project.write(`secrets/bench/svc-${i % 10}/secret-${i}`, fakeCiphertext('kms', 200));
      const synth = await timed(() => runCdktf(project.root, ['synth'], envWithoutAws()));
      const plan = files <= planUpTo
        ? await timed(() => runCdktf(project.root, ['plan', 'bench', '--var', 'offline_plan=true'], envWithoutAws()))
        : undefined;
      rows.push({ files, synthSeconds: synth, planSeconds: plan });
    } finally {
      project.remove();
    }
  }
  return rows;
}

async function timed(run: () => Promise<{ code: number; output: string }>): Promise<number> {
  const start = performance.now();
  const result = await run();
  if (result.code !== 0) throw new Error(`benchmark step failed:\n${result.output.slice(-2000)}`);
  return (performance.now() - start) / 1000;
}

export function synthPlanTable(rows: readonly SynthPlanRow[]): string {
  const lines = ['| secret files | cdktf synth (s) | cdktf plan, offline (s) |', '|---:|---:|---:|'];
  for (const row of rows) lines.push(`| ${row.files} | ${row.synthSeconds.toFixed(1)} | ${row.planSeconds === undefined ? 'not run' : row.planSeconds.toFixed(1)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number);
  console.log(synthPlanTable(await benchSynthAndPlan(sizes.length > 0 ? sizes : [10, 100, 1_000])));
}

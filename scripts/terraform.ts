/** Terraform itself, run in a stack's folder (cdktf.out/stacks/<env>), offline when a provider mirror is found. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { KmsSecretsError } from '../lib/errors.ts';
import { offlineTerraformEnv } from './terraform-offline.ts';

export interface TerraformRun {
  readonly code: number;
  /** Empty unless the output was captured. */
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `terraform <args>` in `dir`. `output: 'stderr'` shows Terraform's output to the user on stderr (stdout
 * stays the command's own); `capture` collects it, for `terraform show -json`.
 */
export function runTerraform(
  projectRoot: string, dir: string, args: readonly string[], options: { output: 'stderr' | 'capture'; env?: NodeJS.ProcessEnv },
): Promise<TerraformRun> {
  const env = { ...(options.env ?? process.env), CHECKPOINT_DISABLE: '1', ...offlineTerraformEnv(join(projectRoot, '.cache')) };
  return new Promise((resolve, reject) => {
    const capture = options.output === 'capture';
    const child = spawn('terraform', args, { cwd: dir, env, stdio: ['ignore', capture ? 'pipe' : process.stderr, capture ? 'pipe' : process.stderr] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => reject(new KmsSecretsError(`cannot run terraform: ${error.message}`, { hint: 'put Terraform >= 1.10 on PATH' })));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

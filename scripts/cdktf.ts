/**
 * `npm run cdktf -- <plan|deploy|destroy|synth> …`: the cdktf CLI, offline when a provider mirror is
 * found (TF_PROVIDER_MIRROR or discovered, see terraform-offline.ts), as-is otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { findProjectRoot } from '../lib/project-root.ts';
import { offlineTerraformEnv } from './terraform-offline.ts';

const COMMANDS_THAT_LOCK_PROVIDERS = ['plan', 'diff', 'deploy', 'apply', 'destroy'];

export interface CdktfRun {
  readonly code: number;
  /** stdout and stderr, without terminal colours. */
  readonly output: string;
}

/** The environment and arguments for running cdktf in `projectRoot`, offline where possible. */
export function cdktfInvocation(projectRoot: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const offline = offlineTerraformEnv(join(projectRoot, '.cache'), env);
  const extra = offline && COMMANDS_THAT_LOCK_PROVIDERS.includes(args[0] ?? '') && !args.includes('--skip-provider-lock')
    // `terraform providers lock` asks the registry; offline, the mirror is the lock.
    ? ['--skip-provider-lock']
    : [];
  const cli = createRequire(join(projectRoot, 'package.json')).resolve('cdktf-cli/bundle/bin/cdktf');
  return {
    command: process.execPath,
    args: [cli, ...args, ...extra],
    env: { ...env, CHECKPOINT_DISABLE: '1', ...offline },
    offline: Boolean(offline),
  };
}

/** Runs cdktf to completion, collecting its output (for tests and the demo); `onOutput` sees it as it comes. */
export function runCdktf(projectRoot: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, onOutput?: (text: string) => void): Promise<CdktfRun> {
  const invocation = cdktfInvocation(projectRoot, args, env);
  return collectOutput(spawn(invocation.command, invocation.args, { cwd: projectRoot, env: invocation.env, stdio: ['ignore', 'pipe', 'pipe'] }), onOutput);
}

/** A child's exit code and its stdout and stderr together, without terminal colours; `onOutput` sees them as they come. */
export function collectOutput(child: ChildProcess, onOutput?: (text: string) => void): Promise<CdktfRun> {
  return new Promise((resolve, reject) => {
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk;
      onOutput?.(stripVTControlCharacters(chunk.toString('utf8')));
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output: stripVTControlCharacters(output) }));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const invocation = cdktfInvocation(findProjectRoot(), process.argv.slice(2));
  const child = spawn(invocation.command, invocation.args, { stdio: 'inherit', env: invocation.env });
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

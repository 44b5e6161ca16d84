/** Runs the kms-secrets CLI as a user would: a separate process, in a project folder. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './project.ts';

/**
 * The Node that runs the CLI and the runtime in tests: this one, or the one named by KMS_SECRETS_TEST_NODE
 * (the runtime tests run a second time with Node 24, where exec replaces itself with the command).
 */
export const RUNTIME_NODE = process.env.KMS_SECRETS_TEST_NODE ?? process.execPath;

/** The standalone executable the runtime tests run instead, when KMS_SECRETS_TEST_EXECUTABLE names one. */
export const RUNTIME_EXECUTABLE = process.env.KMS_SECRETS_TEST_EXECUTABLE;

/** The program and first arguments that run the runtime's commands, `exec` and `write`. */
export const RUNTIME_COMMAND: readonly [string, ...string[]] = RUNTIME_EXECUTABLE
  ? [RUNTIME_EXECUTABLE]
  : [RUNTIME_NODE, join(REPO_ROOT, 'bin', 'kms-secrets.js')];

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node` runs an operator command on another Node than RUNTIME_NODE (e.g. a CDK Terrain project's plan-check). */
export function runCli(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string | Buffer; node?: string } ): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const [program, ...first] = ['exec', 'write'].includes(args[0]!) ? RUNTIME_COMMAND : [options.node ?? RUNTIME_NODE, join(REPO_ROOT, 'bin', 'kms-secrets.js')];
    const child = spawn(program!, [...first, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

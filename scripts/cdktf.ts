/**
 * `npm run cdktf -- <plan|deploy|destroy|synth> …`: the project's CLI (`cdktf`, or `cdktn` when kms-secrets.json
 * says "toolchain": "cdktn"), offline when a provider mirror is found (TF_PROVIDER_MIRROR or discovered, see
 * terraform-offline.ts), as-is otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { KmsSecretsError } from '../lib/errors.ts';
import { findProjectRoot } from '../lib/project-root.ts';
import { loadSettings } from '../lib/settings.ts';
import { assertCdktfNativeModule, assertNodeFor, toolchainCli, type Toolchain } from '../lib/toolchain.ts';
import { offlineTerraformEnv } from './terraform-offline.ts';

const COMMANDS_THAT_LOCK_PROVIDERS = ['plan', 'diff', 'deploy', 'apply', 'destroy'];

export interface CdktfRun {
  readonly code: number;
  /** stdout and stderr, without terminal colours. */
  readonly output: string;
  /** Which CLI ran, for messages: "cdktf" or "cdktn". */
  readonly toolchain?: Toolchain;
}

export interface CdktfOptions {
  /** The Node that runs the CLI and, first on PATH, the app it synthesizes (the app checks its version). @default this process's */
  readonly node?: string;
}

/**
 * The command, arguments and environment for running the project's CLI in `projectRoot`, offline where possible;
 * a toolchain that needs a newer Node, or is not installed, is refused here with what to do.
 */
export function cdktfInvocation(projectRoot: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, options: CdktfOptions = {}) {
  const { toolchain } = loadSettings(projectRoot);
  const cli = toolchainCli(projectRoot, toolchain);
  if (!options.node) {
    assertNodeFor(toolchain);
    if (toolchain === 'cdktf') assertCdktfNativeModule(cli);
  }
  const node = options.node ?? process.execPath;
  const offline = offlineTerraformEnv(join(projectRoot, '.cache'), env);
  const extra = offline && COMMANDS_THAT_LOCK_PROVIDERS.includes(args[0] ?? '') && !args.includes('--skip-provider-lock')
    // `terraform providers lock` asks the registry; offline, the mirror is the lock.
    ? ['--skip-provider-lock']
    : [];
  return {
    command: node,
    args: [cli, ...args, ...extra],
    env: { ...env, CHECKPOINT_DISABLE: '1', ...offline, PATH: pathWithNodeFirst(projectRoot, node, env.PATH) },
    offline: Boolean(offline),
    toolchain,
  };
}

/**
 * PATH on which `node` is the CLI's own Node: the app command in cdktf.json says `node`, and a CDK Terrain app run
 * by an older Node first on PATH would fail. Another Node goes first through a folder of the project's .cache/ that
 * holds only a link to it, so that nothing else on PATH (terraform, say) changes; PATH that finds it already stays.
 */
function pathWithNodeFirst(projectRoot: string, node: string, path = ''): string {
  const target = realpathSync(node);
  const firstNode = path.split(delimiter).filter(Boolean).map((dir) => join(dir, 'node')).find((candidate) => existsSync(candidate));
  if (firstNode && realpathSync(firstNode) === target) return path;
  const dir = join(projectRoot, '.cache', 'node-on-path', createHash('sha256').update(target).digest('hex').slice(0, 16));
  mkdirSync(dir, { recursive: true });
  try {
    symlinkSync(target, join(dir, 'node'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return [dir, path].filter(Boolean).join(delimiter);
}

/** Runs cdktf to completion, collecting its output (for tests and the demo); `onOutput` sees it as it comes. */
export function runCdktf(projectRoot: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, onOutput?: (text: string) => void, options: CdktfOptions = {}): Promise<CdktfRun> {
  const invocation = cdktfInvocation(projectRoot, args, env, options);
  const child = spawn(invocation.command, invocation.args, { cwd: projectRoot, env: invocation.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return collectOutput(child, onOutput).then((run) => ({ ...run, toolchain: invocation.toolchain }));
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
  let invocation: ReturnType<typeof cdktfInvocation>;
  try {
    invocation = cdktfInvocation(findProjectRoot(), process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof KmsSecretsError)) throw error;
    process.stderr.write(`kms-secrets: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    process.exit(2);
  }
  const child = spawn(invocation.command, invocation.args, { stdio: 'inherit', env: invocation.env });
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

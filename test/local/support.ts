/** Each test gets its own endpoint in a temporary folder, and clients pointed at it. */
import { IAMClient } from '@aws-sdk/client-iam';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsClients, type AwsClients } from '../../lib/aws.ts';
import { start, type LocalEndpoint } from '../../local/index.ts';
import { TEST_CREDENTIALS } from '../../local/terraform-provider.ts';

export const REGION = 'us-east-1';

export interface TestEndpoint {
  readonly endpoint: LocalEndpoint;
  readonly dir: string;
  /** SDK clients as the admin (test/test), or as the given credentials. */
  clients(credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): AwsClients;
  iam(): IAMClient;
  /** Stops the endpoint and removes its folder. */
  close(): Promise<void>;
}

export async function startEndpoint(dir = mkdtempSync(join(tmpdir(), 'local-aws-'))): Promise<TestEndpoint> {
  const endpoint = await start({ dir });
  return {
    endpoint,
    dir,
    clients: (credentials = TEST_CREDENTIALS) => awsClients({ endpoint: endpoint.url, region: REGION, credentials, maxAttempts: 4 }),
    iam: () => new IAMClient({ endpoint: endpoint.url, region: REGION, credentials: TEST_CREDENTIALS }),
    close: async () => {
      await endpoint.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether an external tool is installed. Tests that need it are skipped loudly without it, except on
 * CI (CI=true), where a missing tool is a failure.
 */
export function toolAvailable(command: string, versionArgs: string[] = ['--version']): boolean {
  const found = spawnSync(command, versionArgs, { stdio: 'ignore' }).status === 0;
  if (!found) {
    if (process.env.CI === 'true') throw new Error(`${command} is required on CI but was not found on PATH`);
    process.stderr.write(`\n*** SKIPPING tests that need \`${command}\`: it is not installed (they fail instead when CI=true) ***\n\n`);
  }
  return found;
}

/** This process's environment without AWS_* and TF_* settings from the developer's shell, plus `env`. */
export function commandEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('TF_')));
  return { ...inherited, ...env };
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without blocking the event loop: the endpoint under test lives in this process. */
export function runCommand(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: commandEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }));
  });
}

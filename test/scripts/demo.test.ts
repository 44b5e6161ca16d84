import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { envVarName } from '../../lib/naming.ts';
import { runDemo, type DemoResult } from '../../scripts/demo.ts';
import { filesContaining } from '../support/markers.ts';
import { REPO_ROOT } from '../support/project.ts';
import { describeWithTerraform, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const MARKER = 'MARKER-PLAINTEXT-d3m0';
const secrets = [
  { name: 'db-password', value: Buffer.from(`${MARKER}-db`) },
  { name: 'stripe-key', value: Buffer.from(`${MARKER}-stripe`) },
  { name: 'tls.crt', value: Buffer.from(`${MARKER}-cert\n`.repeat(400)) },
];

describeWithTerraform('npm run demo, end to end', () => {
  let result: DemoResult;
  const output: string[] = [];

  beforeAll(async () => {
    result = await runDemo({ secrets, write: (line) => output.push(line), keepWorkspace: true });
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(() => {
    if (result) rmSync(result.workspace, { recursive: true, force: true });
  });

  it('walks through the seven steps and finishes', () => {
    const text = output.join('\n');
    for (let step = 1; step <= 7; step++) expect(text).toContain(`[${step}/7]`);
    expect(text).toMatch(/Demo finished in \d+ s/);
  });

  it('says every 10 s what Terraform is doing while it works', () => {
    expect(output.some((line) => /^ {8}\d+ s: (terraform init|planning|applying|\d+ done, waiting for aws_)/.test(line))).toBe(true);
  });

  it('starts the sample service with every secret, proven by fingerprints', () => {
    for (const { name, value } of secrets) {
      const fingerprint = createHash('sha256').update(value).digest('hex').slice(0, 12);
      expect(result.serviceReport).toContain(`${envVarName(name)}: ${value.length} bytes, sha256 ${fingerprint}…`);
    }
  });

  it('is never silent while it waits: the CI principal\'s plan is announced before it starts', () => {
    const step6 = output.slice(output.findIndex((line) => line.trimStart().startsWith('[6/7]')));
    expect(step6[1]).toBe('        cdktf plan demo with the CI credentials: synthesizes the app, then Terraform reads back every resource');
  });

  it('shows that CI can plan without decrypt rights', () => {
    expect(result.ciPlanSucceeded).toBe(true);
    expect(result.ciDecryptDenied).toBe(true);
  });

  it('never prints a value, and never writes one to a file', () => {
    expect(output.join('\n')).not.toContain(MARKER);
    expect(filesContaining([result.workspace], MARKER)).toEqual([]);
  });
});

describeWithTerraform('npm run demo, stopped with Ctrl-C', () => {
  it('removes its throw-away folder, with the local endpoint\'s state', async () => {
    // As in a terminal: npm run demo in a process group of its own, and Ctrl-C's SIGINT to the whole group
    // (npm and node get one each); one node process, so no relay of tsx's can give up on it under load.
    const demo = spawn('npm', ['run', '-s', 'demo'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    demo.stdout.on('data', (chunk) => (output += chunk));
    demo.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => demo.on('close', () => resolve()));
    let workspace: string | undefined;
    for (const until = Date.now() + 300_000; !workspace && Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      workspace = /throw-away project: (\S+)/.exec(output)?.[1];
    }
    expect(workspace, output).toBeDefined();
    expect(existsSync(workspace!)).toBe(true);
    process.kill(-demo.pid!, 'SIGINT');
    await exited;

    expect(existsSync(workspace!), output).toBe(false);
  }, TERRAFORM_TIMEOUT_MS);
});

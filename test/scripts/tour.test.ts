/**
 * `npm run local -- --tour`: in one step, the local endpoint with an env that has every role, and the lines that
 * act as each principal. One tour (one deploy) for the file, started as a user starts it; each printed line is run
 * in bash as printed, in the tour's folder, from a shell that acted as someone else before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { filesContaining, marker } from '../support/markers.ts';
import { REPO_ROOT } from '../support/project.ts';
import { describeWithTerraform, TERRAFORM_TIMEOUT_MS } from '../support/terraform.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kms-secrets-tour-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Tour {
  readonly process: ChildProcess;
  output(): string;
  readonly exited: Promise<void>;
  /** What Ctrl-C in its terminal does: SIGINT to its whole process group (npm, the shell, node). */
  interrupt(signal?: NodeJS.Signals): void;
}

/** `npm run local -- --tour …` on any free port, in a process group of its own as in a terminal; its output as it comes. */
function startTour(args: string[]): Tour {
  const child = spawn('npm', ['run', '-s', 'local', '--', '--tour', '--port', '0', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { process: child, output: () => output, exited, interrupt: (signal = 'SIGINT') => process.kill(-child.pid!, signal) };
}

/** Waits until the output matches `pattern`, or fails with the output when the process ends first. */
async function until(tour: Tour, pattern: RegExp): Promise<void> {
  let ended = false;
  void tour.exited.then(() => (ended = true));
  while (!pattern.test(tour.output())) {
    if (ended) throw new Error(`the tour ended before printing ${pattern}:\n${tour.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A shell whose identity --as must replace: a profile and a KMS endpoint that would fail every command. */
const SHELL_ENV = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && key !== 'SECRETS_ENV')),
  AWS_PROFILE: 'someone-else',
  AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9',
};

/** Runs `script` in bash in `cwd`, with `input` on its standard input. */
function bash(cwd: string, script: string, input = ''): Promise<{ code: number; stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env: SHELL_ENV });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, output }));
    child.stdin.end(input);
  });
}

function fingerprint(value: string): string {
  return `${Buffer.byteLength(value)} bytes, sha256 ${createHash('sha256').update(value).digest('hex').slice(0, 12)}…`;
}

describeWithTerraform('npm run local -- --tour', () => {
  const folder = join(scratch, 'tour');
  let tour: Tour;
  /** The printed lines under each principal's `--as` line, by principal. */
  const blocks = new Map<string, string[]>();
  const as = (principal: string) => `eval "$(npm run -s local -- --as ${principal})"`;
  /** Runs the `--as` line of `principal`, then its printed line `index` (or `command`), in the tour's folder. */
  const actAs = (principal: string, command: number | string, input?: string) => {
    const block = blocks.get(principal)!;
    return bash(folder, `${block[0]}\n${typeof command === 'number' ? block[command]! : command}`, input);
  };
  /** Runs `command` as `principal`, and expects AWS to refuse it to the role `role` of env tour. */
  const expectDenied = async (principal: string, command: number | string, role: string, input?: string) => {
    const run = await actAs(principal, command, input);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(new RegExp(`AccessDenied.*kms-secrets-tour\\.${role}`, 's'));
  };
  /** A value typed by the developer in this test; the tour's own is made up by the tour. */
  const typed = marker('tour');
  let madeUp: string;

  beforeAll(async () => {
    tour = startTour(['--dir', folder]);
    await until(tour, /Press Ctrl-C/);
    const lines = tour.output().split('\n');
    let principal: string | undefined;
    for (const line of lines.slice(lines.findIndex((l) => l.startsWith('Ready in')))) {
      const named = /--as ([\w-]+)\)"/.exec(line)?.[1];
      if (named) blocks.set((principal = named), []);
      if (line.trim() === '') principal = undefined;
      if (principal) blocks.get(principal)!.push(line.trim());
    }
  }, TERRAFORM_TIMEOUT_MS);
  afterAll(() => {
    // Only when a test failed before Ctrl-C: the tour's own cleanup did not run.
    if (tour?.process.exitCode === null && tour.process.signalCode === null) tour.interrupt('SIGKILL');
  });

  it('deploys env tour and prints where its project is and a line that acts as each principal', async () => {
    expect(tour.output()).toContain(`Tour project: ${folder}`);
    expect(tour.output()).toContain(`  cd ${folder}\n`);
    expect([...blocks.keys()]).toEqual(['developer', 'deployer', 'task-api', 'ci-plan', 'break-glass', 'admin']);
    for (const [principal, block] of blocks) expect(block[0]).toMatch(new RegExp(`^${as(principal).replace(/[()$|]/g, '\\$&')} +# \\w`));
    const settings = JSON.parse(readFileSync(join(folder, 'kms-secrets.json'), 'utf8'));
    expect(settings.environments.tour).toMatchObject({ local: true, roles: { developer: {}, deployer: {}, ciPlan: {} }, breakGlassPrincipals: [expect.stringMatching(/:role\//)] });
  });

  it('--as prints exports of credentials, the endpoint and the region, after unsetting the identity the shell had', async () => {
    const lines = (await bash(folder, 'npm run -s local -- --as developer')).stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^unset .*\bAWS_PROFILE\b.*\bAWS_ENDPOINT_URL_KMS\b/);
    expect(lines[1]).toMatch(/^export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ AWS_REGION=us-east-1 .*AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+ AWS_SESSION_TOKEN=\S+$/);
    expect((await bash(folder, `${as('developer')}\naws_identity=$(env | grep -c '^AWS_PROFILE=\\|^AWS_ENDPOINT_URL_KMS='); echo "left: $aws_identity"`)).output).toContain('left: 0');
  });

  it('break-glass: decrypts the secret the tour deployed, whose value the tour never printed nor wrote', async () => {
    const summary = await actAs('break-glass', 1);
    expect(summary.code, summary.output).toBe(0);
    expect(summary.output).toMatch(/\d+ bytes, sha256 [0-9a-f]{12}/);

    const revealed = await actAs('break-glass', 'npm run -s decrypt -- --env tour api/api-key --reveal');
    expect(revealed.code).toBe(0);
    madeUp = revealed.stdout;
    expect(madeUp).toMatch(/^[\w-]{20,}$/);
    expect(summary.output).toContain(`${Buffer.byteLength(madeUp)} bytes, sha256 ${createHash('sha256').update(madeUp).digest('hex')}`);
    expect(tour.output()).not.toContain(madeUp);
    expect(filesContaining([folder], madeUp)).toEqual([]);
  });

  it('developer: encrypts a new value for the secret, and may not decrypt', async () => {
    expect(blocks.get('developer')![1]).toBe('npm run encrypt -- --env tour api/api-key --force     # a new value for api/api-key: type it twice');
    const encrypt = await actAs('developer', 1, typed);
    expect(encrypt.code, encrypt.output).toBe(0);
    expect(encrypt.output).toContain('env tour: replaced secrets/tour/api/api-key');

    await expectDenied('developer', 2, 'developer-encrypt');
  });

  it('deployer: the developer\'s change passes plan-check, and the deployer applies it', async () => {
    const apply = await actAs('deployer', 1);
    expect(apply.code, apply.output).toBe(0);
    expect(apply.output).toContain('plan-check tour: only ciphertext objects change (0 to add, 1 to change, 0 to destroy): the deployer can apply this plan');
    expect(apply.output).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);
  }, TERRAFORM_TIMEOUT_MS);

  it('deployer: may not decrypt', async () => {
    await expectDenied('deployer', 'npm run decrypt -- --env tour api/api-key', 'deployer');
  });

  it('task-api: exec starts the service with API_KEY, the value the developer typed and the deployer applied', async () => {
    const exec = await actAs('task-api', 1);
    expect(exec.code, exec.output).toBe(0);
    expect(exec.output).toContain(`API_KEY: ${fingerprint(typed)}`);
  });

  it('task-api: may not encrypt', async () => {
    await expectDenied('task-api', 'npm run encrypt -- --env tour api/api-key --force', 'task-api', 'x');
  });

  it('ci-plan: plans, with nothing left to change, and may not decrypt', async () => {
    const plan = await actAs('ci-plan', 1);
    expect(plan.code, plan.output).toBe(0);
    expect(plan.output).toContain('No changes.');

    await expectDenied('ci-plan', 'npm run decrypt -- --env tour api/api-key', 'ci-plan');
  }, TERRAFORM_TIMEOUT_MS);

  it('an unknown principal: says which there are, and leaves the shell acting as nobody', async () => {
    const run = await bash(folder, `${as('admin')}\n${as('nobody')}\necho "key: \${AWS_ACCESS_KEY_ID-none}"`);
    expect(run.output).toContain('there is no principal "nobody"');
    expect(run.output).toContain('developer, deployer, ci-plan, task-<service>, break-glass or admin');
    expect(run.output).toContain('key: none');
  });

  it('Ctrl-C stops the endpoint and removes the project folder', async () => {
    tour.interrupt();
    await tour.exited;

    expect(tour.output()).toContain(`Stopped the local endpoint and removed ${folder}`);
    expect(existsSync(folder)).toBe(false);
  });
});

describeWithTerraform('npm run local -- --tour --keep, stopped with Ctrl-C while it deploys', () => {
  it('stops the endpoint and keeps the project folder', async () => {
    const folder = join(scratch, 'kept');
    const tour = startTour(['--dir', folder, '--keep']);
    await until(tour, /\[1\/3\] cdktf deploy tour/);
    tour.interrupt();
    await tour.exited;

    expect(tour.output()).toContain(`Stopped the local endpoint; kept ${folder}`);
    expect(existsSync(join(folder, 'kms-secrets.json'))).toBe(true);
    expect(existsSync(join(folder, '.local-aws', 'endpoint.json')), 'no endpoint serves the folder any more').toBe(false);
  }, TERRAFORM_TIMEOUT_MS);
});

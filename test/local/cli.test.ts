/** `npm run local`: a bad option or a busy port gets one line saying what to do, not a stack trace. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { REPO_ROOT } from '../support/project.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kms-secrets-local-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runLocal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO_ROOT, 'local', 'cli.ts'), '--dir', join(scratch, 'state'), ...args], {
    cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('a port in use: one line that says so and suggests --port 0, exit 2', async () => {
  const busy = createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  const { port } = busy.address() as AddressInfo;
  try {
    const run = await runLocal(['--port', String(port)]);

    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`local AWS endpoint: port ${port} on 127.0.0.1 is in use (another npm run local?): stop that, or pass --port 0 for any free port\n`);
  } finally {
    busy.close();
  }
});

test('an unknown option: one line naming it and the options there are, exit 2', async () => {
  const run = await runLocal(['--prot', '4580']);

  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/^local AWS endpoint: Unknown option '--prot'.*; the options are --dir, --port, --host, --allow-non-loopback, --kms-quota, --s3-get-quota, --tour, --keep and --as\n$/);
});

test('a quota that is not a positive rate, exit 2, naming the option or the variable it came from', async () => {
  const option = await runLocal(['--kms-quota', 'fast']);
  expect(option.code).toBe(2);
  expect(option.stderr).toBe('local AWS endpoint: --kms-quota must be a positive number of requests per second, e.g. 1000, not "fast"\n');

  const variable = await runLocal([], { LOCAL_AWS_S3_GET_QUOTA: 'Infinity' });
  expect(variable.code).toBe(2);
  expect(variable.stderr).toBe('local AWS endpoint: LOCAL_AWS_S3_GET_QUOTA must be a positive number of requests per second, e.g. 1000, not "Infinity"\n');
});

test('a port that is not a number, exit 2', async () => {
  const run = await runLocal(['--port', 'http']);

  expect(run.code).toBe(2);
  expect(run.stderr).toBe('local AWS endpoint: --port must be a port number (0 for any free port), not http\n');
});

test('a host that is not loopback: refused, naming the option that allows it on this command line, exit 2', async () => {
  const run = await runLocal(['--host', '0.0.0.0']);

  expect(run.code).toBe(2);
  expect(run.stderr).toBe('local AWS endpoint: refusing to listen on 0.0.0.0: the endpoint accepts any credentials, so whoever reaches it acts as any principal. '
    + 'Use --host 127.0.0.1 (or ::1, localhost), or pass --allow-non-loopback to listen there all the same\n');
});

test('--as with no endpoint serving the state folder: says so and how to start one, and prints only what unsets the shell\'s identity', async () => {
  const run = await runLocal(['--as', 'developer']);

  expect(run.code).toBe(1);
  expect(run.stderr).toBe(`local AWS endpoint: no local endpoint is running with its state in ${join(scratch, 'state')}\n`
    + 'hint: start one in this project with npm run local (or npm run local -- --tour), and keep it running; --dir names another state folder\n');
  expect(run.stdout).toMatch(/^unset AWS_PROFILE [A-Z_ ]+\n$/);
});

test('--keep without --tour: refused, saying what it is for, exit 2', async () => {
  const run = await runLocal(['--keep']);

  expect(run.code).toBe(2);
  expect(run.stderr).toBe('local AWS endpoint: --keep goes with --tour: it keeps the tour\'s project when you stop it\n');
});

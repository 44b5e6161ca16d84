/** `write --refresh` and `exec --restart-on-change`: rotated secrets reach a running task without a redeploy. */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RUNTIME_COMMAND, type CliRun } from '../support/cli.ts';
import { childReport, CHILD, exitStatus, expectNoValueIn, fingerprint, markerPath, openStore, putSecrets, runtimeEnv, secretValue, waitFor, type Store } from './support.ts';

let store: Store;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store.close());

/** Starts the runtime in the background; `done` settles when it exits, after the marker scan. */
function startRuntime(args: readonly string[]) {
  const [program, ...first] = RUNTIME_COMMAND;
  const process_ = spawn(program!, [...first, ...args], { cwd: store.scratch, env: runtimeEnv(store), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  process_.stdout!.on('data', (chunk) => (output.stdout += chunk));
  process_.stderr!.on('data', (chunk) => (output.stderr += chunk));
  const done = new Promise<CliRun>((resolve) => process_.on('close', (code, signal) => {
    const run = { code, signal, ...output };
    expectNoValueIn(store, run);
    resolve(run);
  }));
  return { process: process_, output, done };
}

const kmsCalls = () => store.endpoint.requests().filter((r) => r.service === 'kms').length;
const lists = () => store.endpoint.requests().filter((r) => r.operation === 'ListObjectsV2').length;

describe('kms-secrets write --refresh', () => {
  test('picks up a changed secret, removes a deleted one, makes no KMS call while idle, and exits 0 on SIGTERM', async () => {
    await putSecrets(store, { 'rot/db-password': secretValue('db-1'), 'rot/api-key': secretValue('key-1') });
    const dir = join(store.scratch, 'refreshing');
    const sidecar = startRuntime(['write', '--dir', dir, '--service', 'rot', '--refresh', '300ms']);
    await waitFor(() => sidecar.output.stderr.includes('checking for changes'), 'the first write');

    const idleFrom = { kms: kmsCalls(), lists: lists() };
    await waitFor(() => lists() >= idleFrom.lists + 3, 'three idle checks');
    expect(kmsCalls(), 'no KMS call across idle checks').toBe(idleFrom.kms);

    const rotated = secretValue('db-2');
    await putSecrets(store, { 'rot/db-password': rotated });
    await waitFor(() => readFileSync(join(dir, 'DB_PASSWORD'), 'utf8') === rotated, 'the rotated value in its file');
    await store.clients.s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: 'rot/api-key' }));
    await waitFor(() => !existsSync(join(dir, 'API_KEY')), 'the deleted secret\'s file to go');

    sidecar.process.kill('SIGTERM');
    const run = await sidecar.done;
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('kms-secrets: refreshed rot/db-password changed');
    expect(run.stderr).toContain('kms-secrets: refreshed rot/api-key removed');
  });

  test('an endpoint fault keeps the last good files, and --max-stale ends it with exit 75', async () => {
    const value = secretValue('stale');
    await putSecrets(store, { 'stale/token': value });
    const dir = join(store.scratch, 'stale');
    const sidecar = startRuntime(['write', '--dir', dir, '--service', 'stale', '--refresh', '200ms', '--max-stale', '1s', '--deadline', '0.5']);
    await waitFor(() => sidecar.output.stderr.includes('checking for changes'), 'the first write');
    store.endpoint.faults.add({ service: 's3', operation: 'ListObjectsV2', kind: 'error500' });
    const run = await sidecar.done;
    store.endpoint.faults.clear();

    expect(run.code).toBe(75);
    expect(run.stderr).toContain('refresh failed; the files of ');
    expect(run.stderr).toMatch(/longer than --max-stale 1 s: exiting/);
    expect(readFileSync(join(dir, 'TOKEN'), 'utf8')).toBe(value);
  }, 30_000);

  test('--signal HUP --pid-file tells the app after a change', async () => {
    await putSecrets(store, { 'hup/token': secretValue('hup-1') });
    const appMarker = markerPath(store);
    const app = spawn(process.execPath, [CHILD, appMarker, 'trap=SIGHUP'], { stdio: 'ignore' });
    await waitFor(() => existsSync(appMarker) && readFileSync(appMarker, 'utf8').includes('ready'), 'the app to be ready');
    const pidFile = join(store.scratch, 'app.pid');
    writeFileSync(pidFile, `${app.pid}\n`);
    const sidecar = startRuntime(['write', '--dir', join(store.scratch, 'hup'), '--service', 'hup', '--refresh', '200ms', '--signal', 'HUP', '--pid-file', pidFile]);
    await waitFor(() => sidecar.output.stderr.includes('checking for changes'), 'the first write');
    expect(readFileSync(appMarker, 'utf8')).not.toContain('SIGHUP');

    await putSecrets(store, { 'hup/token': secretValue('hup-2') });
    await waitFor(() => readFileSync(appMarker, 'utf8').includes('SIGHUP'), 'the app to get SIGHUP');
    sidecar.process.kill('SIGTERM');
    app.kill('SIGKILL');
    expect((await sidecar.done).stderr).toContain(`kms-secrets: sent SIGHUP to process ${app.pid} (from ${pidFile})`);
  });

  test('a --pid-file that names a secret\'s file by mistake: the signal is not sent and its content never shown', async () => {
    await putSecrets(store, { 'oops/token': secretValue('oops-1') });
    const dir = join(store.scratch, 'oops');
    const sidecar = startRuntime(['write', '--dir', dir, '--service', 'oops', '--refresh', '200ms', '--signal', 'HUP', '--pid-file', join(dir, 'TOKEN')]);
    await waitFor(() => sidecar.output.stderr.includes('checking for changes'), 'the first write');
    await putSecrets(store, { 'oops/token': secretValue('oops-2') });
    await waitFor(() => sidecar.output.stderr.includes('cannot send SIGHUP'), 'the refused signal');
    sidecar.process.kill('SIGTERM');
    const run = await sidecar.done; // the marker scan: neither value appears

    expect(run.stderr).toContain(`cannot send SIGHUP to the app named by ${join(dir, 'TOKEN')}: it does not hold a process id; the files are current`);
  });

  test('options that go with --refresh are refused without it', async () => {
    const run = startRuntime(['write', '--dir', join(store.scratch, 'x'), '--service', 'rot', '--max-stale', '5m']);
    const done = await run.done;
    expect(done.code).toBe(2);
    expect(done.stderr).toContain('--max-stale goes with --refresh <interval>');
  });
});

describe('kms-secrets exec --restart-on-change', () => {
  test('restarts the app with the new value after a change', async () => {
    const first = secretValue('app-1');
    await putSecrets(store, { 'app/session-key': first });
    const marker = markerPath(store);
    const exec = startRuntime(['exec', '--service', 'app', '--restart-on-change', '300ms', '--stop-timeout', '2s', '--',
      process.execPath, CHILD, marker, 'print=SESSION_KEY', 'trap=SIGTERM', 'exit-on=SIGTERM']);
    await waitFor(() => exec.output.stdout.includes('{'), 'the app to start');
    expect(childReport(exec.output).fingerprints.SESSION_KEY).toBe(fingerprint(first));

    const second = secretValue('app-2');
    await putSecrets(store, { 'app/session-key': second });
    await waitFor(() => exec.output.stdout.split('\n').filter((l) => l.startsWith('{')).length === 2, 'the app to start again');
    const reports = exec.output.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { fingerprints: Record<string, string> });
    expect(reports[1]!.fingerprints.SESSION_KEY).toBe(fingerprint(second));

    // The app prints its report before it installs its SIGTERM handler (and each start rewrites the marker):
    // SIGTERM only once the new app says it is ready.
    await waitFor(() => readFileSync(marker, 'utf8').includes('ready'), 'the new app to be ready');
    exec.process.kill('SIGTERM');
    const run = await exec.done;
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('kms-secrets: restarting');
  });

  test('an app that ignores SIGTERM gets SIGKILL after --stop-timeout, and starts again with the new value', async () => {
    await putSecrets(store, { 'stubborn/session-key': secretValue('stubborn-1') });
    const marker = markerPath(store);
    const exec = startRuntime(['exec', '--service', 'stubborn', '--restart-on-change', '200ms', '--stop-timeout', '500ms', '--',
      process.execPath, CHILD, marker, 'print=SESSION_KEY', 'trap=SIGTERM']);
    const reports = () => exec.output.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { pid: number; fingerprints: Record<string, string> });
    await waitFor(() => reports().length === 1, 'the app to start');
    const second = secretValue('stubborn-2');
    const changedAt = Date.now();
    await putSecrets(store, { 'stubborn/session-key': second });
    await waitFor(() => reports().length === 2, 'the app to be killed and started again');

    expect(Date.now() - changedAt, 'it waited the grace period first').toBeGreaterThanOrEqual(500);
    expect(() => process.kill(reports()[0]!.pid, 0), 'the old app is gone').toThrow();
    expect(reports()[1]!.fingerprints.SESSION_KEY).toBe(fingerprint(second));
    process.kill(reports()[1]!.pid, 'SIGKILL');
    expect(exitStatus(await exec.done), 'the app\'s end is the wrapper\'s').toBe(137);
  });

  test('a failed reload keeps the running app', async () => {
    await putSecrets(store, { 'keep/session-key': secretValue('keep-1') });
    const marker = markerPath(store);
    const exec = startRuntime(['exec', '--service', 'keep', '--restart-on-change', '200ms', '--',
      process.execPath, CHILD, marker, 'trap=SIGTERM', 'exit-on=SIGTERM']);
    await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').includes('ready'), 'the app to start');
    await store.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'keep/planted', Body: 'not ciphertext' }));
    await waitFor(() => exec.output.stderr.includes('reload failed'), 'the failed reload');

    expect(readFileSync(marker, 'utf8').split('\n').filter((line) => line === 'started')).toHaveLength(1);
    exec.process.kill('SIGTERM');
    const run = await exec.done;
    expect(run.stderr).toContain('keep/planted: not ciphertext');
    expect(run.stderr).toContain('reload failed; the app keeps running with the values it started with');
    expect(run.stderr).not.toContain('restarting');
  });
});

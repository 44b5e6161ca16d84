/** `write --refresh` and `exec --restart-on-change`: rotated secrets reach a running task without a redeploy. */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { RUNTIME_COMMAND, type CliRun } from '../support/cli.ts';
import { childReport, CHILD, declare, exitStatus, expectNoValueIn, fingerprint, markerPath, openStore, putSecrets, runtimeEnv, secretValue, waitFor, type Store } from './support.ts';

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
  // A test that failed before it stopped its sidecar must not leave it listing the bucket: later tests count listings.
  onTestFinished(() => {
    if (process_.exitCode === null && process_.signalCode === null) process_.kill('SIGKILL');
  });
  return { process: process_, output, done };
}

const kmsCalls = () => store.endpoint.requests().filter((r) => r.service === 'kms').length;
const lists = () => store.endpoint.requests().filter((r) => r.operation === 'ListObjectsV2').length;
const decrypts = () => store.endpoint.requests().filter((r) => r.operation === 'Decrypt').length;
const listings = (answered: 'faulted' | 'good') => store.endpoint.requests().filter((r) => r.operation === 'ListObjectsV2' && Boolean(r.fault) === (answered === 'faulted')).length;

/** Waits until a check that decrypted something (after `decryptsBefore`) is over: the next check has listed the bucket. */
async function waitForCheckThatDecrypted(decryptsBefore: number): Promise<void> {
  await waitFor(() => decrypts() > decryptsBefore, 'a check to decrypt the changed secret');
  const listed = lists(); // that check listed before it decrypted: a listing from now on is the next check's
  await waitFor(() => lists() > listed, 'the next check');
}

/**
 * Makes the next check see every change `change` makes, in one listing: the checks' listings fail while it
 * runs. Returns once a check after the change is over.
 */
async function changeAtOnce(change: () => Promise<void>): Promise<void> {
  const faulted = listings('faulted');
  store.endpoint.faults.add({ service: 's3', operation: 'ListObjectsV2', kind: 'error500' });
  // From a failed listing on, every check lists again (after the change) or fails.
  await waitFor(() => listings('faulted') > faulted, 'a failed listing');
  await change();
  store.endpoint.faults.clear();
  const good = listings('good');
  // The first good listing from here saw the whole change; the one after it means that check is over.
  await waitFor(() => listings('good') >= good + 2, 'a check after the change, and the next');
}

const tempFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('.'));

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

  test('a --dir swapped for a symbolic link after the start is refused, naming it: nothing is written where the link points', async () => {
    const first = secretValue('swap-1');
    await putSecrets(store, { 'swap/token': first });
    const dir = join(store.scratch, 'swapped');
    const sidecar = startRuntime(['write', '--dir', dir, '--service', 'swap', '--refresh', '200ms']);
    await waitFor(() => sidecar.output.stderr.includes('checking for changes'), 'the first write');
    const target = join(store.scratch, 'swap-target');
    mkdirSync(target);
    renameSync(dir, `${dir}-moved`);
    symlinkSync(target, dir);

    await putSecrets(store, { 'swap/token': secretValue('swap-2') });
    await waitForCheckThatDecrypted(decrypts());
    expect(readdirSync(target), 'nothing written through the link').toEqual([]);
    expect(readdirSync(`${dir}-moved`)).toEqual(['TOKEN']);
    expect(readFileSync(join(`${dir}-moved`, 'TOKEN'), 'utf8')).toBe(first);
    sidecar.process.kill('SIGTERM');
    const run = await sidecar.done;
    expect(run.stderr).toContain(`kms-secrets: --dir ${dir} is no longer the directory this sidecar prepared: it is now a symbolic link; nothing is written through it`);
    expect(run.stderr).not.toContain('kms-secrets: refreshed');
  });

  test('a check whose rename fails part-way puts back what it renamed: the directory holds the old set, not a mix', async () => {
    const [a1, a2, c] = [secretValue('mix-a1'), secretValue('mix-a2'), secretValue('mix-c')];
    await putSecrets(store, { 'mix/a-token': a1, 'mix/b-token': secretValue('mix-b') });
    const dir = join(store.scratch, 'mix');
    const sidecar = startRuntime(['write', '--dir', dir, '--service', 'mix', '--refresh', '200ms']);
    await waitFor(() => sidecar.output.stderr.includes('checking for changes'), 'the first write');
    mkdirSync(join(dir, 'C_TOKEN')); // the new secret's file cannot go where a directory is, and A_TOKEN is renamed in before it

    await changeAtOnce(() => putSecrets(store, { 'mix/a-token': a2, 'mix/c-token': c }));
    // The next checks stop at their listing while the directory is looked at: none is part-way through.
    const faulted = listings('faulted');
    store.endpoint.faults.add({ service: 's3', operation: 'ListObjectsV2', kind: 'error500' });
    await waitFor(() => listings('faulted') > faulted, 'a check held at its listing');
    expect(readFileSync(join(dir, 'A_TOKEN'), 'utf8'), 'A_TOKEN holds its old value again').toBe(a1);
    expect(readdirSync(dir).sort(), 'no temp file, no old file set aside').toEqual(['A_TOKEN', 'B_TOKEN', 'C_TOKEN']);
    store.endpoint.faults.clear();

    rmdirSync(join(dir, 'C_TOKEN'));
    await waitFor(() => existsSync(join(dir, 'C_TOKEN')) && statSync(join(dir, 'C_TOKEN')).isFile(), 'the next check to write the new set');
    expect(readFileSync(join(dir, 'A_TOKEN'), 'utf8')).toBe(a2);
    expect(readFileSync(join(dir, 'C_TOKEN'), 'utf8')).toBe(c);
    sidecar.process.kill('SIGTERM');
    const run = await sidecar.done;
    expect(run.stderr).toContain(`kms-secrets: cannot write the secret files in ${dir}, so every file stays as it was: ${join(dir, 'C_TOKEN')} exists and is not a file`);
  });

  test('a failed check leaves no temp file behind (each would hold a value until the sidecar stops)', async () => {
    await putSecrets(store, { 'temps/token': secretValue('temps-1') });
    const dir = join(store.scratch, 'temps');
    const sidecar = startRuntime(['write', '--dir', dir, '--service', 'temps', '--refresh', '200ms']);
    await waitFor(() => sidecar.output.stderr.includes('checking for changes'), 'the first write');
    mkdirSync(join(dir, 'NEW_TOKEN')); // the new secret's file is staged, then cannot be renamed into place

    await putSecrets(store, { 'temps/new-token': secretValue('temps-new') });
    await waitForCheckThatDecrypted(decrypts());
    expect(sidecar.output.stderr).toContain('refresh failed');
    expect(tempFiles(dir)).toEqual([]);
    sidecar.process.kill('SIGTERM');
    await sidecar.done;
  });

  test('options that go with --refresh are refused without it', async () => {
    const run = startRuntime(['write', '--dir', join(store.scratch, 'x'), '--service', 'rot', '--max-stale', '5m']);
    const done = await run.done;
    expect(done.code).toBe(2);
    expect(done.stderr).toContain('--max-stale goes with --refresh <interval>');
  });

  test.each([['1s'], ['10s']])('--max-stale %s within the --refresh interval of 10s can never hold: refused, saying why, and nothing is written', async (maxStale) => {
    const dir = join(store.scratch, `never-stale-${maxStale}`);
    const run = startRuntime(['write', '--dir', dir, '--service', 'rot', '--refresh', '10s', '--max-stale', maxStale]);
    const done = await run.done;

    expect(done.code).toBe(2);
    expect(done.stderr).toBe(
      `kms-secrets: --max-stale ${maxStale} must be longer than --refresh 10s: checks run 10 s apart, so the files are that old already when a check fails, `
      + 'and the first failed check would end the sidecar\n'
      + 'hint: give it room for a few failed checks, e.g. --max-stale 50s\n',
    );
    expect(existsSync(dir)).toBe(false);
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
    await declare(store, ['keep/planted']);
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

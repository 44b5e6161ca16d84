/**
 * Process semantics of `kms-secrets exec`: signals reach the command, and the process ends as the command
 * does. Where Node has execve the runtime becomes the command (same PID); elsewhere, and as PID 1, it stays
 * the command's parent and relays. The exit status a container reports is the same either way.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FORWARDED_SIGNALS } from '../../runtime/signals.ts';
import { runCli, RUNTIME_COMMAND } from '../support/cli.ts';
import {
  CHILD, childReport, execChild, exitStatus, markerLines, markerPath, openStore, putSecrets, RUNTIME_REPLACES_ITSELF, runtimeEnv, secretValue, startExec, waitFor,
  type Store,
} from './support.ts';

let store: Store;

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, { 'api/db-password': secretValue('db') });
});
afterAll(() => store.close());

describe('the exit code', () => {
  test('is the command’s own', async () => {
    const run = await execChild(store, ['--service', 'api'], ['exit=7']);

    expect(run.childRan).toBe(true);
    expect(run.code).toBe(7);
  });

  test.each(['SIGKILL', 'SIGTERM'] as const)('is 128+n when the command dies of %s', async (signal) => {
    const run = await execChild(store, ['--service', 'api'], [`kill=${signal}`]);

    expect(exitStatus(run)).toBe(128 + constants.signals[signal]);
  });
});

describe('signals sent to the wrapper', () => {
  test('SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH all reach the command', async () => {
    const running = startExec(store, ['--service', 'api'], [`trap=${FORWARDED_SIGNALS.join(',')}`, 'exit-on=SIGTERM', 'exit=3']);
    await waitFor(() => markerLines(running.marker).includes('ready'), 'the command to start');

    // SIGTERM last: the command exits on it.
    for (const signal of [...FORWARDED_SIGNALS.filter((s) => s !== 'SIGTERM'), 'SIGTERM' as const]) {
      running.wrapper.kill(signal);
      await waitFor(() => markerLines(running.marker).includes(signal), `${signal} to reach the command`);
    }
    const run = await running.done;

    expect(markerLines(running.marker)).toEqual(['started', 'ready', ...FORWARDED_SIGNALS.filter((s) => s !== 'SIGTERM'), 'SIGTERM']);
    expect(run.code).toBe(3);
  });

  test('a SIGTERM the command does not handle ends both, with 143', async () => {
    const running = startExec(store, ['--service', 'api'], ['trap=SIGUSR1']);
    await waitFor(() => markerLines(running.marker).includes('ready'), 'the command to start');
    running.wrapper.kill('SIGTERM');

    expect(exitStatus(await running.done)).toBe(143);
  });

  test('a SIGTERM while secrets are loading stops the start: the command never runs', async () => {
    store.endpoint.faults.add({ operation: 'GetObject', kind: 'latency', ms: 5_000, times: 1 });
    try {
      const listings = () => store.endpoint.requests().filter((r) => r.operation === 'ListObjectsV2').length;
      const before = listings();
      const running = startExec(store, ['--service', 'api'], []);
      await waitFor(() => listings() > before, 'the listing');
      running.wrapper.kill('SIGTERM');
      const run = await running.done;

      expect(run.code).toBe(143);
      expect(markerLines(running.marker)).toEqual([]);
      expect(run.stderr).toContain('stopped by SIGTERM before the command started');
    } finally {
      store.endpoint.faults.clear();
    }
  });
});

describe('the command starts with the default signal dispositions', () => {
  test('SIGPIPE and SIGXFSZ are not ignored, although Node ignores them: the command dies of a closed pipe, as programs expect', async () => {
    const run = await runCli(['exec', '--service', 'api', '--', 'grep', 'SigIgn', '/proc/self/status'], { cwd: store.scratch, env: runtimeEnv(store) });
    const ignored = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(run.stdout)![1]}`);

    expect(run.code).toBe(0);
    expect(ignored & (1n << BigInt(constants.signals.SIGPIPE - 1))).toBe(0n);
    expect(ignored & (1n << BigInt(constants.signals.SIGXFSZ - 1))).toBe(0n);
  });
});

describe.runIf(RUNTIME_REPLACES_ITSELF)('where Node has execve, exec becomes the command', () => {
  test('the command has the runtime\'s PID: no wrapper process is left holding memory or values', async () => {
    const running = startExec(store, ['--service', 'api'], ['print=DB_PASSWORD']);
    const run = await running.done;

    expect(run.code).toBe(0);
    expect(childReport(run).pid).toBe(running.wrapper.pid);
  });
});

describe.runIf(RUNTIME_REPLACES_ITSELF && canRunAsPid1())('as PID 1, even where Node has execve', () => {
  test('exec stays the command\'s parent and relays SIGTERM, which the kernel would drop for a PID 1 without a handler', async () => {
    const marker = markerPath(store);
    const wrapper = spawn('unshare', ['--fork', '--pid', ...RUNTIME_COMMAND, 'exec', '--service', 'api', '--', process.execPath, CHILD, marker, 'trap=SIGTERM', 'exit-on=SIGTERM', 'exit=4'], {
      cwd: store.scratch, env: runtimeEnv(store), stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitFor(() => markerLines(marker).includes('ready'), 'the command to start');
    // unshare forwards nothing: signal PID 1 of the new namespace, the runtime, as `docker stop` would.
    const pid1 = Number(readFileSync(`/proc/${wrapper.pid}/task/${wrapper.pid}/children`, 'utf8').trim());
    process.kill(pid1, 'SIGTERM');
    const code = await new Promise((resolve) => wrapper.on('close', resolve));

    expect(markerLines(marker)).toContain('SIGTERM');
    expect(code).toBe(4);
  });
});

function canRunAsPid1(): boolean {
  const probe = spawnSync('unshare', ['--fork', '--pid', 'true'], { stdio: 'ignore' });
  if (probe.status !== 0) process.stderr.write('\n*** SKIPPING the PID 1 test: this machine does not allow unshare --pid ***\n\n');
  return probe.status === 0;
}

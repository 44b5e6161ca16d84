/** Process semantics of `kms-secrets exec`: signals reach the command, and the wrapper ends as it does. */
import { constants } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FORWARDED_SIGNALS } from '../../runtime/signals.ts';
import { execChild, markerLines, openStore, putSecrets, secretValue, startExec, waitFor, type Store } from './support.ts';

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

    expect(run.code).toBe(128 + constants.signals[signal]);
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

    expect((await running.done).code).toBe(143);
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

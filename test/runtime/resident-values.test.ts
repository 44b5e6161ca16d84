/**
 * Where exec cannot replace itself (Node 20, or as PID 1) it stays the app's parent for the app's whole
 * life. It must hold nothing of a secret by then: a heap snapshot of the running wrapper, taken after the
 * app started (Node's --heapsnapshot-signal, after a full garbage collection), has no value in it.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RUNTIME_EXECUTABLE, RUNTIME_NODE } from '../support/cli.ts';
import { REPO_ROOT } from '../support/project.ts';
import { CHILD, markerLines, markerPath, openStore, putSecrets, RUNTIME_REPLACES_ITSELF, runtimeEnv, secretValue, waitFor, type Store } from './support.ts';

let store: Store;
const values = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`api/secret-${i}`, secretValue(`api-${i}`)]));

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, values);
  await putSecrets(store, { 'api/large': `${secretValue('api-large')}${'x'.repeat(8_000)}` }); // an envelope
});
afterAll(() => store.close());

test.skipIf(RUNTIME_REPLACES_ITSELF || RUNTIME_EXECUTABLE !== undefined)('the wrapper that stays the parent holds no secret value once the app runs', async () => {
  const marker = markerPath(store);
  const wrapper = spawn(RUNTIME_NODE, ['--heapsnapshot-signal=SIGUSR2', join(REPO_ROOT, 'bin', 'kms-secrets.js'), 'exec', '--service', 'api', '--',
    process.execPath, CHILD, marker, 'trap=SIGUSR2,SIGTERM', 'exit-on=SIGTERM'], { cwd: store.scratch, env: runtimeEnv(store), stdio: 'ignore' });
  const exited = new Promise((resolve) => wrapper.on('close', resolve));
  await waitFor(() => markerLines(marker).includes('ready'), 'the app to start');

  wrapper.kill('SIGUSR2'); // the wrapper writes its snapshot, and passes the signal on to the app
  const snapshotFile = () => readdirSync(store.scratch).find((name) => name.endsWith('.heapsnapshot'));
  await waitFor(() => markerLines(marker).includes('SIGUSR2') && snapshotFile() !== undefined, 'the heap snapshot', 30_000);
  await waitFor(() => { try { JSON.parse(readFileSync(join(store.scratch, snapshotFile()!), 'utf8')); return true; } catch { return false; } }, 'the whole snapshot', 30_000);
  wrapper.kill('SIGTERM');
  await exited;

  const snapshot = readFileSync(join(store.scratch, snapshotFile()!), 'utf8');
  expect(snapshot.length).toBeGreaterThan(1_000_000);
  const held = [...store.values].filter((value) => snapshot.includes(value.slice(0, 40)));
  expect(held.length, `${held.length} of ${store.values.size} values are still in the wrapper's heap`).toBe(0);
});

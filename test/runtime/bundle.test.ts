/** The single-file runtime bundle: only the runtime in it, and `exec`/`write` work from it with nothing but node. */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildRuntimeBundle } from '../../runtime/build.ts';
import type { CliRun } from '../support/cli.ts';
import { CHILD, childReport, expectNoValueIn, fingerprint, markerPath, markerLines, openStore, putSecrets, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
let bundle: string;
let inputs: string[];
const dbPassword = secretValue('api-db');

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, { 'api/db-password': dbPassword });
  bundle = join(store.scratch, 'opt', 'kms-secrets-runtime.mjs');
  inputs = Object.keys((await buildRuntimeBundle(bundle)).inputs);
});
afterAll(() => store.close());

/** `node <bundle> <args>` from a folder with no node_modules, as in a container image. */
function runBundle(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { cwd: store.scratch, env: runtimeEnv(store, { SECRETS_SERVICES: 'api' }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const run = { code, signal, stdout, stderr };
      expectNoValueIn(store, run);
      resolve(run);
    });
  });
}

test('holds the runtime and the shared model only: no cdktf, glob, stacks, operator commands or local endpoint', () => {
  const sources = inputs.filter((path) => !path.includes('node_modules/'));
  expect(sources.every((path) => path.startsWith('runtime/') || path.startsWith('lib/'))).toBe(true);
  expect(sources).not.toContain('lib/tree.ts');
  expect(inputs.filter((path) => /node_modules\/(cdktf|@cdktf|constructs|glob|tsx)\//.test(path))).toEqual([]);
});

test('runs exec: the command gets the secrets', async () => {
  const marker = markerPath(store);
  const run = await runBundle(['exec', '--', process.execPath, CHILD, marker, 'print=DB_PASSWORD', 'exit=5']);

  expect(run.code).toBe(5);
  expect(childReport(run).fingerprints).toEqual({ DB_PASSWORD: fingerprint(dbPassword) });
  expect(markerLines(marker)).toEqual(['started']);
});

test('runs write: the sidecar files appear', async () => {
  const dir = join(store.scratch, 'secrets');
  const run = await runBundle(['write', '--dir', dir]);

  expect(run.code).toBe(0);
  expect(statSync(join(dir, 'DB_PASSWORD')).mode & 0o777).toBe(0o400);
  expect(readFileSync(join(dir, 'DB_PASSWORD')).equals(Buffer.from(dbPassword))).toBe(true);
});

test('knows no other command', async () => {
  const run = await runBundle(['encrypt', 'api/db-password']);

  expect(run.code).toBe(2);
  expect(run.stderr).toContain('unknown command "encrypt"');
});

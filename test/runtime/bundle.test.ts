/** The single-file runtime bundle: only the runtime in it, and `exec`/`write` work from it with nothing but node. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildRuntimeBundle } from '../../runtime/build.ts';
import { RUNTIME_NODE, type CliRun } from '../support/cli.ts';
import { CHILD, childReport, expectNoValueIn, fingerprint, markerPath, markerLines, openStore, putSecrets, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
let bundle: string;
let metafile: Metafile;
let inputs: string[];
const dbPassword = secretValue('api-db');

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, { 'api/db-password': dbPassword });
  bundle = join(store.scratch, 'opt', 'kms-secrets-runtime.mjs');
  metafile = await buildRuntimeBundle(bundle);
  inputs = Object.keys(metafile.inputs);
});
afterAll(() => store.close());

/** `node <bundle> <args>` from a folder with no node_modules, as in a container image. */
function runBundle(args: string[], env: NodeJS.ProcessEnv = runtimeEnv(store, { SECRETS_SERVICES: 'api' })): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(RUNTIME_NODE, [bundle, ...args], { cwd: store.scratch, env });
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

test('evaluates at start only what a start needs: STS, SSM, Secrets Manager and the Encryption SDK are imported on first use', () => {
  // Everything reachable from the entry without crossing an import() runs when the bundle starts.
  const atStart = new Set<string>();
  const visit = (path: string): void => {
    if (atStart.has(path)) return;
    atStart.add(path);
    for (const imported of metafile.inputs[path]?.imports ?? []) {
      if (imported.kind !== 'dynamic-import') visit(imported.path);
    }
  };
  visit('runtime/main.ts');

  expect([...atStart].some((path) => path.includes('node_modules/@aws-sdk/client-s3/'))).toBe(true);
  expect([...atStart].some((path) => path.includes('node_modules/@aws-sdk/client-kms/'))).toBe(true);
  const lazy = /node_modules\/(@aws-sdk\/client-(sts|ssm|secrets-manager)|@aws-crypto\/client-node)\//;
  expect([...atStart].filter((path) => lazy.test(path))).toEqual([]);
  expect(inputs.filter((path) => lazy.test(path)).length).toBeGreaterThan(0);
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

test('comes with its code cache, and starts as well without it or with one of another build', async () => {
  const cache = `${bundle}.cache`;
  expect(existsSync(cache)).toBe(true);
  const kept = `${cache}.kept`;
  copyFileSync(cache, kept);
  const variants: Record<string, () => void> = {
    'no cache': () => rmSync(cache),
    'another build': () => writeFileSync(cache, Buffer.concat([Buffer.from('0'.repeat(32)), readFileSync(kept).subarray(32)])),
    'damaged': () => writeFileSync(cache, Buffer.concat([readFileSync(kept).subarray(0, 32), Buffer.alloc(1000, 7)])),
  };
  try {
    for (const [variant, prepare] of Object.entries(variants)) {
      prepare();
      const run = await runBundle(['exec', '--', process.execPath, CHILD, markerPath(store), 'print=DB_PASSWORD']);
      expect({ variant, code: run.code, fingerprints: childReport(run).fingerprints }).toEqual({ variant, code: 0, fingerprints: { DB_PASSWORD: fingerprint(dbPassword) } });
    }
  } finally {
    copyFileSync(kept, cache);
  }
});

test('code-cache writes the cache next to the bundle', async () => {
  const cache = `${bundle}.cache`;
  rmSync(cache);
  const run = await runBundle(['code-cache']);

  expect(run.code).toBe(0);
  expect(run.stdout.trim()).toBe(cache);
  expect(statSync(cache).size).toBeGreaterThan(100_000);
});

test('takes the region from EC2 instance metadata when none is set, as the SDK does', async () => {
  // The SDK imports node:http for this with import(), which the bundle's compiled runtime turns into require().
  const metadata = createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token') res.end('token');
    else if (req.url === '/latest/meta-data/placement/region') res.end('us-east-1');
    else res.writeHead(404).end();
  }).listen(0, '127.0.0.1');
  await once(metadata, 'listening');
  try {
    const { AWS_REGION: _region, AWS_EC2_METADATA_DISABLED: _disabled, ...env } = runtimeEnv(store, { SECRETS_SERVICES: 'api' });
    const run = await runBundle(['exec', '--', process.execPath, CHILD, markerPath(store), 'print=DB_PASSWORD'], {
      ...env,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${(metadata.address() as AddressInfo).port}`,
    });

    expect(run.stderr).toBe('');
    expect(childReport(run).fingerprints).toEqual({ DB_PASSWORD: fingerprint(dbPassword) });
  } finally {
    metadata.close();
  }
});

test('ends at the deadline under KMS throttling, not when the SDK\'s retry timers run out', async () => {
  store.endpoint.faults.add({ operation: 'Decrypt', kind: 'throttle' });
  try {
    const run = await runBundle(['exec', '--deadline', '1', '--', process.execPath, CHILD, markerPath(store)]);

    expect(run.code).toBe(78);
    // The deadline's own words: had the SDK's attempts run out first, the failure would be "throttled".
    expect(run.stderr).toMatch(/deadline exceeded \(not loaded within the deadline of 1 s\)/);
  } finally {
    store.endpoint.faults.clear();
  }
});

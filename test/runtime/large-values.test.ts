/**
 * Linux refuses to start a program with one environment variable over 128 KiB (MAX_ARG_STRLEN), or with an
 * environment over its total limit (E2BIG). exec says which secret is too large and to use `write`, before
 * anything is started; write has no such limit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT_NOT_LOADED } from '../../runtime/cli.ts';
import { MAX_VARIABLE_BYTES } from '../../runtime/environ.ts';
import { runCli } from '../support/cli.ts';
import { execChild, expectNoValueIn, openStore, putSecrets, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
const bundle = secretValue('ca-bundle').padEnd(MAX_VARIABLE_BYTES, 'x');

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, { 'certs/ca-bundle': bundle, 'certs/token': secretValue('token') });
  // Twenty secrets of 110 KB: each fits in a variable, together they are over the 2 MiB the kernel allows.
  await putSecrets(store, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`many/part-${i}`, secretValue(`part-${i}`).padEnd(110_000, 'y')])));
});
afterAll(() => store.close());

describe.runIf(process.platform === 'linux')('a value too large for the environment', () => {
  test('exec refuses it before starting, naming the secret, its size and the limit, and pointing at write', async () => {
    const run = await execChild(store, ['--service', 'certs']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toMatch(/^kms-secrets: certs\/ca-bundle: too large \(CA_BUNDLE would take 131,083 bytes of the environment, and Linux allows 131,072 for one variable; give it to the app as a file with `kms-secrets write`\)$/m);
  });

  test('write gives it to the app as a file, byte for byte', async () => {
    const dir = join(store.scratch, 'files');
    const run = await runCli(['write', '--dir', dir, '--service', 'certs'], { cwd: store.scratch, env: runtimeEnv(store) });
    expectNoValueIn(store, run);

    expect(run.code).toBe(0);
    expect(readFileSync(join(dir, 'CA_BUNDLE'), 'utf8') === bundle).toBe(true);
  });

  test('an environment too large as a whole is named as such, not as a bare E2BIG', async () => {
    const run = await execChild(store, ['--service', 'many']);

    expect(run.childRan).toBe(false);
    expect(run.code).toBe(126);
    expect(run.stderr).toMatch(/its environment and arguments together are larger than the kernel allows \(E2BIG\)\nhint: give the largest secrets to the app as files with `kms-secrets write`/);
  });
});

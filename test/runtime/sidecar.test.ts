/** `kms-secrets write`: the sidecar that leaves each secret in a file for an app container. */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT_NOT_LOADED } from '../../runtime/cli.ts';
import { runCli } from '../support/cli.ts';
import { expectNoValueIn, openStore, putSecrets, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
const dbPassword = secretValue('api-db');
/** Not UTF-8 and with NUL bytes: no environment variable could hold it, a file can. */
const keystore = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 0]), Buffer.from(secretValue('keystore'))]);

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, { 'api/db-password': dbPassword, 'api/keystore.p12': keystore });
});
afterAll(() => store.close());

async function write(dir: string, flags: string[] = ['--service', 'api']) {
  const run = await runCli(['write', '--dir', dir, ...flags], { cwd: store.scratch, env: runtimeEnv(store) });
  expectNoValueIn(store, run);
  return run;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('kms-secrets write', () => {
  test('writes each secret to <dir>/<VARIABLE>, mode 0400, in a directory of mode 0700, and nothing else', async () => {
    const dir = join(store.scratch, 'volume', 'secrets');
    const run = await write(dir);

    expect(run.code).toBe(0);
    expect(mode(dir)).toBe(0o700);
    expect(readdirSync(dir).sort()).toEqual(['DB_PASSWORD', 'KEYSTORE_P12']);
    expect(mode(join(dir, 'DB_PASSWORD'))).toBe(0o400);
    expect(mode(join(dir, 'KEYSTORE_P12'))).toBe(0o400);
    expect(readFileSync(join(dir, 'DB_PASSWORD')).equals(Buffer.from(dbPassword))).toBe(true);
    expect(readFileSync(join(dir, 'KEYSTORE_P12')).equals(keystore), 'binary secrets are written byte for byte').toBe(true);
  });

  test('a second run replaces the read-only files with the current values', async () => {
    const dir = join(store.scratch, 'rerun');
    expect((await write(dir)).code).toBe(0);
    const rotated = secretValue('api-db-rotated');
    await putSecrets(store, { 'api/db-password': rotated });
    const run = await write(dir);

    expect(run.code).toBe(0);
    expect(readFileSync(join(dir, 'DB_PASSWORD')).equals(Buffer.from(rotated))).toBe(true);
    expect(mode(join(dir, 'DB_PASSWORD'))).toBe(0o400);
    expect(readdirSync(dir).sort()).toEqual(['DB_PASSWORD', 'KEYSTORE_P12']);
  });

  test('when a secret cannot be loaded, nothing is written and the exit code is 78', async () => {
    const dir = join(store.scratch, 'failed');
    const run = await write(dir, ['--service', 'api', '--service', 'ghost']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toContain('kms-secrets: ghost/*: not found (');
    expect(run.stderr).toContain('no file was written');
    expect(existsSync(dir)).toBe(false);
  });

  test('a directory it cannot write to is named, and the exit code is 78', async () => {
    const file = join(store.scratch, 'not-a-directory');
    writeFileSync(file, '');
    const run = await write(join(file, 'secrets'));

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toContain(`kms-secrets: cannot prepare ${join(file, 'secrets')} for the secret files: ENOTDIR`);
  });

  test('a --dir that cannot be made (/proc/self/x) fails at once, naming it, instead of spinning', async () => {
    const run = await write('/proc/self/secrets');

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toMatch(/kms-secrets: cannot prepare \/proc\/self\/secrets for the secret files: (ENOENT|EACCES|EPERM)/);
  });

  test('a failure part-way writes nothing: what was renamed into place before it is taken back', async () => {
    const dir = join(store.scratch, 'part-way');
    mkdirSync(join(dir, 'KEYSTORE_P12'), { recursive: true }); // the second file cannot go where a directory is
    const run = await write(dir);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toContain(`kms-secrets: cannot write the secret files in ${dir}, so every file stays as it was: ${join(dir, 'KEYSTORE_P12')} exists and is not a file`);
    expect(readdirSync(dir)).toEqual(['KEYSTORE_P12']);
  });

  test('a re-run that fails part-way leaves the previous run\'s files, not a mix, and no temp file', async () => {
    const [first, second] = [secretValue('again-1'), secretValue('again-2')];
    await putSecrets(store, { 'again/a-token': first, 'again/b-token': secretValue('again-b') });
    const dir = join(store.scratch, 'again');
    expect((await write(dir, ['--service', 'again'])).code).toBe(0);
    await putSecrets(store, { 'again/a-token': second, 'again/c-token': secretValue('again-c') });
    mkdirSync(join(dir, 'C_TOKEN')); // A_TOKEN and B_TOKEN are renamed in before C_TOKEN fails
    const run = await write(dir, ['--service', 'again']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(readFileSync(join(dir, 'A_TOKEN'), 'utf8')).toBe(first);
    expect(readdirSync(dir).sort()).toEqual(['A_TOKEN', 'B_TOKEN', 'C_TOKEN']);
  });

  test('a temp file that a killed run left behind (with a value in it) is removed by the next run', async () => {
    const dir = join(store.scratch, 'after-kill');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.DB_PASSWORD.0123456789ab.tmp'), 'a value a kill -9 left', { mode: 0o400 });
    const run = await write(dir);

    expect(run.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['DB_PASSWORD', 'KEYSTORE_P12']);
  });

  test('a --dir that is a symbolic link is refused: nothing is written where it points, and its mode is left alone', async () => {
    const target = join(store.scratch, 'elsewhere');
    mkdirSync(target, { mode: 0o755 });
    chmodSync(target, 0o755);
    const link = join(store.scratch, 'link-to-elsewhere');
    symlinkSync(target, link);
    const run = await write(link);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toContain(`kms-secrets: --dir ${link} is a symbolic link`);
    expect(readdirSync(target)).toEqual([]);
    expect(mode(target)).toBe(0o755);
  });

  test('--verbose names the files written', async () => {
    const dir = join(store.scratch, 'verbose');
    const run = await write(dir, ['--service', 'api', '--verbose']);

    expect(run.stderr).toContain(`kms-secrets: wrote ${join(dir, 'DB_PASSWORD')}\n`);
  });
});

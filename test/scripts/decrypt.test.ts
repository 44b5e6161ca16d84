/** `kms-secrets decrypt`: a ciphertext opens only at its place, and the value is shown only when asked for. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { filesContaining, marker } from '../support/markers.ts';
import type { TestProject } from '../support/project.ts';
import { cli, filesIn, localProject, runInTerminal, startAws, type Aws, type CliRun } from './support.ts';

let aws: Aws;
let project: TestProject;
beforeAll(async () => (aws = await startAws()));
afterAll(() => aws.close());
afterEach(() => project?.remove());

function copySecret(from: string, to: string): void {
  const target = join(project.root, 'secrets', to);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(project.root, 'secrets', from), target);
}

describe('a ciphertext decrypts only at the place it was encrypted for', () => {
  test('a KMS blob copied to another service or env fails, naming the encryption context', async () => {
    project = localProject(['demo', 'other']);
    await cli(aws, project, ['encrypt', 'api/password'], { input: 'value' });
    copySecret('demo/api/password', 'demo/web/password');
    copySecret('demo/api/password', 'other/api/password');
    const otherService = await cli(aws, project, ['decrypt', 'web/password']);
    const otherEnv = await cli(aws, project, ['decrypt', '--env', 'other', 'api/password']);

    for (const [run, file] of [[otherService, 'secrets/demo/web/password'], [otherEnv, 'secrets/other/api/password']] as const) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `kms-secrets: ${file}: InvalidCiphertextException: the ciphertext was made for another env/service/secret (encryption context) or with a key this caller cannot use\n` +
        'hint: a ciphertext is bound to its env, service and name; encrypt the value again at this place\n',
      );
    }
  });

  test('an envelope copied to another env fails, naming the context key that differs', async () => {
    project = localProject(['demo', 'other']);
    await cli(aws, project, ['encrypt', 'api/tls.crt', '--from-file', project.write('in/cert', randomBytes(5000))]);
    copySecret('demo/api/tls.crt', 'other/api/tls.crt');
    const run = await cli(aws, project, ['decrypt', '--env', 'other', 'api/tls.crt']);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: secret api\/tls\.crt \(env other\): the envelope was encrypted for another place \(encryption context env differs\)\n/);
  });
});

describe('what decrypt shows', () => {
  test('into a pipe or a file too (a CI log), length and fingerprint only: the value never comes out unasked', async () => {
    project = localProject();
    const value = `never-in-a-log-${randomBytes(4).toString('hex')}`;
    await cli(aws, project, ['encrypt', 'api/password'], { input: value });
    const run = await cli(aws, project, ['decrypt', 'api/password']);

    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`env demo: secrets/demo/api/password decrypts: ${value.length} bytes, sha256 ${createHash('sha256').update(value).digest('hex')}\n`);
    expect(run.stderr).toBe('');
  });

  test('--reveal into a pipe: the raw value alone on stdout, the summary on stderr', async () => {
    project = localProject();
    const value = Buffer.concat([randomBytes(40), Buffer.from('\n')]);
    await cli(aws, project, ['encrypt', 'api/blob', '--from-file', project.write('in/blob', value)]);
    const run = await cli(aws, project, ['decrypt', 'api/blob', '--reveal']);

    expect(run.code).toBe(0);
    expect(run.stdoutBytes).toEqual(value);
    expect(run.stderr).toBe(`env demo: secrets/demo/api/blob decrypts: 41 bytes, sha256 ${createHash('sha256').update(value).digest('hex')}\n`);
  });

  test('--output FILE: the exact bytes in a new file only its owner reads', async () => {
    project = localProject();
    const value = randomBytes(64);
    await cli(aws, project, ['encrypt', 'api/blob', '--from-file', project.write('in/blob', value)]);
    mkdirSync(join(project.root, 'out'));
    const out = join(project.root, 'out', 'value');
    const run = await cli(aws, project, ['decrypt', 'api/blob', '--output', out]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`; the value is in ${out} (mode 0600)`);
    expect(readFileSync(out)).toEqual(value);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(filesIn(join(project.root, 'out')), 'no temp file left beside it').toEqual(['value']);
  });

  test.each([['a directory', 'directory'], ['a FIFO', 'special file']])('%s where a secret should be: one line, no hang', async (_case, what) => {
    project = localProject();
    const path = join(project.root, 'secrets', 'demo', 'api', 'odd');
    mkdirSync(dirname(path), { recursive: true });
    if (what === 'directory') mkdirSync(path);
    else execFileSync('mkfifo', [path]);
    const run = await cli(aws, project, ['decrypt', 'api/odd']);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^kms-secrets: secrets/demo/api/odd is not a secret: it is a ${what}, and a secret is a file of ciphertext\n`));
  });

  test('on a terminal: length and fingerprint only, the value with --reveal', async () => {
    project = localProject();
    const value = `shown-only-on-request-${randomBytes(4).toString('hex')}`;
    await cli(aws, project, ['encrypt', 'api/password'], { input: value });
    const checked = await runInTerminal(aws, project, ['decrypt', 'api/password']);
    const revealed = await runInTerminal(aws, project, ['decrypt', 'api/password', '--reveal']);

    const summary = `env demo: secrets/demo/api/password decrypts: ${value.length} bytes, sha256 ${createHash('sha256').update(value).digest('hex')}\r\n`;
    expect(checked.screen).toBe(summary);
    expect(revealed.screen).toBe(`${summary}${value}\r\n`);
  });

  test('a secret that does not exist points to list', async () => {
    project = localProject();
    const run = await cli(aws, project, ['decrypt', 'api/nothing']);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe('kms-secrets: no such secret: secrets/demo/api/nothing does not exist\nhint: see the env\'s secrets with: npm run list -- --env demo\n');
  });
});

describe('--output writes a new file, or with --force replaces a regular file, and nothing else', () => {
  const value = marker('output');
  /** The project with api/password holding `value`, and an out/ folder for the outputs. */
  async function withSecret(): Promise<string> {
    project = localProject();
    await cli(aws, project, ['encrypt', 'api/password'], { input: value });
    mkdirSync(join(project.root, 'out'));
    return join(project.root, 'out');
  }
  function expectRefused(run: CliRun, message: string): void {
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')[0]).toBe(`kms-secrets: ${message}`);
    expect(run.stderr).not.toContain(value);
  }

  test('an existing regular file is kept without --force, and replaced whole with it (mode 0600)', async () => {
    const out = await withSecret();
    const file = join(out, 'value');
    writeFileSync(file, 'old content', { mode: 0o644 });
    const kept = await cli(aws, project, ['decrypt', 'api/password', '--output', file]);
    expect(readFileSync(file, 'utf8')).toBe('old content');
    const replaced = await cli(aws, project, ['decrypt', 'api/password', '--output', file, '--force']);

    expectRefused(kept, `--output ${file} exists already; nothing was written`);
    expect(kept.stderr).toBe(`kms-secrets: --output ${file} exists already; nothing was written\nhint: to replace it, add --force\n`);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(value);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(filesIn(out)).toEqual(['value']);
  });

  test('a symbolic link is neither followed nor replaced, even with --force: a link like /dev/stdout stays a link', async () => {
    const out = await withSecret();
    const target = join(out, 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, join(out, 'link'));
    symlinkSync('/proc/self/fd/1', join(out, 'stdout'));
    const runs = [
      await cli(aws, project, ['decrypt', 'api/password', '--output', join(out, 'link')]),
      await cli(aws, project, ['decrypt', 'api/password', '--output', join(out, 'link'), '--force']),
      await cli(aws, project, ['decrypt', 'api/password', '--output', join(out, 'stdout'), '--force']),
    ];

    expectRefused(runs[0]!, `--output ${join(out, 'link')} is a symbolic link: decrypt writes only a new file, or with --force replaces a regular file; nothing was written`);
    expectRefused(runs[1]!, `--output ${join(out, 'link')} is a symbolic link: decrypt writes only a new file, or with --force replaces a regular file; nothing was written`);
    expectRefused(runs[2]!, `--output ${join(out, 'stdout')} is a symbolic link: decrypt writes only a new file, or with --force replaces a regular file; nothing was written`);
    expect(runs[2]!.stderr).toMatch(/\nhint: for the value on standard output, use --reveal; else name a new file\n$/);
    expect(lstatSync(join(out, 'link')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(out, 'stdout')).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(filesIn(out)).toEqual(['link', 'stdout', 'target']);
  });

  test('a FIFO, a device or a directory is refused, even with --force, and stays what it was', async () => {
    const out = await withSecret();
    execFileSync('mkfifo', [join(out, 'fifo')]);
    mkdirSync(join(out, 'folder'));
    // A device of our own where we may make one (root); elsewhere /dev/null, which we could not replace anyway.
    const device = process.getuid?.() === 0 ? join(out, 'null') : '/dev/null';
    if (device !== '/dev/null') execFileSync('mknod', [device, 'c', '1', '3']);
    const fifo = await cli(aws, project, ['decrypt', 'api/password', '--output', join(out, 'fifo'), '--force']);
    const onDevice = await cli(aws, project, ['decrypt', 'api/password', '--output', device, '--force']);
    const folder = await cli(aws, project, ['decrypt', 'api/password', '--output', join(out, 'folder'), '--force']);

    const refusal = 'decrypt writes only a new file, or with --force replaces a regular file; nothing was written';
    expectRefused(fifo, `--output ${join(out, 'fifo')} is a FIFO: ${refusal}`);
    expectRefused(onDevice, `--output ${device} is a device: ${refusal}`);
    expectRefused(folder, `--output ${join(out, 'folder')} is a directory: ${refusal}`);
    expect(lstatSync(join(out, 'fifo')).isFIFO()).toBe(true);
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
    expect(readdirSync(join(out, 'folder'))).toEqual([]);
  });

  test('a missing folder is an error naming it: decrypt creates no folders', async () => {
    const out = await withSecret();
    const file = join(out, 'missing', 'dir', 'value');
    const run = await cli(aws, project, ['decrypt', 'api/password', '--output', file]);

    expectRefused(run, `--output ${file}: the folder ${join(out, 'missing', 'dir')} does not exist; nothing was written`);
    expect(run.stderr).toMatch(/\nhint: decrypt creates no folders: create it first, or name a file in a folder that exists\n$/);
    expect(filesIn(out)).toEqual([]);
  });

  test.each([
    'secrets/demo/api/plain', 'secrets/..leak', './secrets/../secrets/plain', 'out/../secrets/demo/plain', 'out/link-to-tree/plain', 'out/link-to-tree/../plain',
  ])('never inside secrets/, however it is spelled: %s', async (path) => {
    const out = await withSecret();
    symlinkSync(join(project.root, 'secrets', 'demo', 'api'), join(out, 'link-to-tree'));
    const before = readdirSync(join(project.root, 'secrets'), { recursive: true }).sort();
    const run = await cli(aws, project, ['decrypt', 'api/password', '--output', path]);

    expectRefused(run, `--output ${path} is inside secrets/, which holds ciphertext only: plaintext there could be committed`);
    expect(readdirSync(join(project.root, 'secrets'), { recursive: true }).sort()).toEqual(before);
    expect(filesContaining([project.root], value)).toEqual([]);
  });
});

test('a secret that is a symbolic link is refused as a link, before KMS is asked', async () => {
  project = localProject();
  await cli(aws, project, ['encrypt', 'api/password'], { input: 'value' });
  symlinkSync('password', join(project.root, 'secrets', 'demo', 'api', 'alias'));
  const asked = aws.endpoint.requests().length;
  const run = await cli(aws, project, ['decrypt', 'api/alias']);

  expect(run.code).toBe(1);
  expect(run.stderr).toBe(
    'kms-secrets: secrets/demo/api/alias is a symbolic link, not a secret: the secrets tree holds only real directories and files of ciphertext, each at its own place\n'
    + 'hint: replace the link with the ciphertext file itself (encrypt the value at secrets/demo/api/alias); npm run verify lists every link\n',
  );
  expect(aws.endpoint.requests().length, 'no KMS call').toBe(asked);
});

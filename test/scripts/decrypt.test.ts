/** `kms-secrets decrypt`: a ciphertext opens only at its place, and the value is shown only when asked for. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { TestProject } from '../support/project.ts';
import { cli, localProject, runInTerminal, startAws, type Aws } from './support.ts';

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

  test('--output FILE: the exact bytes in a file only its owner reads; never into secrets/', async () => {
    project = localProject();
    const value = randomBytes(64);
    await cli(aws, project, ['encrypt', 'api/blob', '--from-file', project.write('in/blob', value)]);
    const out = join(project.root, 'out', 'value');
    const run = await cli(aws, project, ['decrypt', 'api/blob', '--output', out]);
    const intoTree = await cli(aws, project, ['decrypt', 'api/blob', '-o', 'secrets/demo/api/plain']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`; the value is in ${out} (mode 0600)`);
    expect(readFileSync(out)).toEqual(value);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const linkToTree = join(project.root, 'out', 'link-to-tree');
    symlinkSync(join(project.root, 'secrets', 'demo', 'api'), linkToTree);
    const throughLink = await cli(aws, project, ['decrypt', 'api/blob', '-o', join(linkToTree, 'plain')]);
    expect(throughLink.code, 'a symbolic link to a folder of the tree is the tree').toBe(1);
    expect(throughLink.stderr).toMatch(/is inside secrets\/, which holds ciphertext only/);
    expect(existsSync(join(project.root, 'secrets', 'demo', 'api', 'plain'))).toBe(false);
    const unmakeable = await cli(aws, project, ['decrypt', 'api/blob', '-o', '/proc/self/x/value']);
    expect(unmakeable.code, 'fails at once, instead of spinning in mkdir').toBe(1);
    expect(unmakeable.stderr).toMatch(/^kms-secrets: cannot write --output \/proc\/self\/x\/value: (ENOENT|EACCES|EPERM); nothing was written\n$/);
    expect(intoTree.code).toBe(1);
    expect(intoTree.stderr).toMatch(/^kms-secrets: --output secrets\/demo\/api\/plain is inside secrets\/, which holds ciphertext only/);
    expect(existsSync(join(project.root, 'secrets', 'demo', 'api', 'plain'))).toBe(false);
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

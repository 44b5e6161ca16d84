/**
 * Outside any project (no kms-secrets.json, no cdktf.json in the folder or above it) there is nothing to act
 * on: every command that reads or writes the secrets tree says so, naming the folder it searched from, exits
 * non-zero, and asks AWS nothing.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { cli, startAws, type Aws } from './support.ts';

let aws: Aws;
let folder: string;
beforeAll(async () => (aws = await startAws()));
afterAll(() => aws.close());
afterEach(() => rmSync(folder, { recursive: true, force: true }));

/** A folder that is no project; `cli` wants a project, whose root is only the default working directory. */
function run(args: readonly string[]) {
  return cli(aws, { root: folder, write: () => '', remove: () => undefined }, args, { input: 'MARKER-outside-value' });
}

describe('a command outside any project', () => {
  test.each([
    ['verify'], ['list'], ['encrypt', 'api/x'], ['decrypt', 'api/x'], ['status'], ['reencrypt', '--env', 'staging'], ['plan-check', 'staging'],
  ])('%s: "not inside a kms-secrets project", naming the folder; nothing written, nothing asked of AWS', async (...args) => {
    folder = mkdtempSync(join(tmpdir(), 'kms-secrets-no-project-'));
    const asked = aws.endpoint.requests().length;
    const result = await run(args);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `kms-secrets: not inside a kms-secrets project: neither ${folder} nor any folder above it holds kms-secrets.json or cdktf.json\n`
      + 'hint: run it in your project; or make this folder one, with default settings: echo \'{}\' > kms-secrets.json\n',
    );
    expect(existsSync(join(folder, 'secrets'))).toBe(false);
    expect(aws.endpoint.requests().length).toBe(asked);
  });

  test('the hint\'s settings file makes the folder a project: the tree is checked, and is empty', async () => {
    folder = mkdtempSync(join(tmpdir(), 'kms-secrets-no-project-'));
    writeFileSync(join(folder, 'kms-secrets.json'), '{}\n');
    const result = await run(['verify']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('secrets tree OK: 0 secrets in 0 services of 0 environments (none)\n');
  });
});

import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretsTreeError } from '../../lib/errors.ts';
import { parseSettings } from '../../lib/settings.ts';
import { loadSecretsTree, scanSecretsTree } from '../../lib/tree.ts';
import { fakeCiphertext, makeProject, type TestProject } from '../support/project.ts';

const defaults = parseSettings({});
let project: TestProject | undefined;
afterEach(() => project?.remove());

async function scan(files: Record<string, Buffer | string>, settings = defaults) {
  project = makeProject({ files });
  return scanSecretsTree(project.root, settings);
}

describe('a good tree', () => {
  it('lists every secret with its env, service, variable and format, sorted', async () => {
    const tree = await scan({
      'secrets/staging/web/session-key': fakeCiphertext('kms'),
      'secrets/staging/api/tls.crt': fakeCiphertext('envelope', 5000),
      'secrets/staging/api/db-password': fakeCiphertext('kms'),
      'secrets/production/api/db-password': fakeCiphertext('kms'),
    });
    expect(tree.problems).toEqual([]);
    expect(tree.environments).toEqual(['production', 'staging']);
    expect(tree.files.map((f) => [f.env, f.service, f.name, f.envVar, f.format, f.size])).toEqual([
      ['production', 'api', 'db-password', 'DB_PASSWORD', 'kms', 64],
      ['staging', 'api', 'db-password', 'DB_PASSWORD', 'kms', 64],
      ['staging', 'api', 'tls.crt', 'TLS_CRT', 'envelope', 5000],
      ['staging', 'web', 'session-key', 'SESSION_KEY', 'kms', 64],
    ]);
    expect(tree.files[0]!.path).toBe(join(project!.root, 'secrets/production/api/db-password'));
  });

  it('has no environments when secrets/ is empty or missing', async () => {
    expect((await scan({})).environments).toEqual([]);
  });

  it('accepts local-endpoint ciphertext in an env the settings mark as local', async () => {
    const tree = await scan({ 'secrets/demo/api/password': fakeCiphertext('local') },
      parseSettings({ environments: { demo: { local: true } } }));
    expect(tree.problems).toEqual([]);
    expect(tree.files[0]!.format).toBe('local');
  });
});

describe('a bad tree: each problem names the file and the rule', () => {
  it.each([
    ['an upper-case service', 'secrets/staging/API/password', fakeCiphertext(), /service name "API" must match/],
    ['an upper-case env', 'secrets/Staging/api/password', fakeCiphertext(), /env name "Staging" must match/],
    ['a name that is no variable', 'secrets/staging/api/1password', fakeCiphertext(), /breaks the naming rule/],
    ['a name with a space', 'secrets/staging/api/db password', fakeCiphertext(), /breaks the naming rule/],
    ['a plaintext file', 'secrets/staging/api/password', 'hunter2\n', /not ciphertext/],
    ['an empty file', 'secrets/staging/api/password', '', /the file is empty/],
    ['a file at depth 2', 'secrets/staging/password', fakeCiphertext(), /a file at depth 2/],
    ['a file at depth 1', 'secrets/README.md', 'read me', /a file at depth 1/],
    ['a directory at the secret level', 'secrets/staging/api/db/password', fakeCiphertext(), /a directory at the secret level/],
    ['a dot-file', 'secrets/staging/api/.password', fakeCiphertext(), /a dot-file/],
    ['a dot-directory', 'secrets/staging/.git/config', fakeCiphertext(), /a dot-file/],
    ['local ciphertext in a real env', 'secrets/staging/api/password', fakeCiphertext('local'), /settings do not mark as local/],
  ])('%s', async (_, path, content, rule) => {
    const tree = await scan({ [path]: content });
    expect(tree.problems.length).toBeGreaterThan(0);
    expect(tree.problems[0]!.rule).toMatch(rule);
    expect(path.startsWith(tree.problems[0]!.file)).toBe(true);
    expect(tree.files).toEqual([]);
  });

  it('two names that map to one variable in a service collide', async () => {
    const tree = await scan({
      'secrets/staging/api/db-password': fakeCiphertext(),
      'secrets/staging/api/db_password': fakeCiphertext(),
      'secrets/staging/web/db-password': fakeCiphertext(),
    });
    expect(tree.problems).toEqual([{
      file: 'secrets/staging/api/db_password',
      rule: 'maps to DB_PASSWORD, like db-password in the same service; rename one of them',
    }]);
  });

  it('a symbolic link is refused, even to a good ciphertext file', async () => {
    project = makeProject({ files: { 'secrets/staging/api/password': fakeCiphertext() } });
    symlinkSync(join(project.root, 'secrets/staging/api/password'), join(project.root, 'secrets/staging/api/link'));
    const tree = await scanSecretsTree(project.root, defaults);
    expect(tree.problems).toEqual([{ file: 'secrets/staging/api/link', rule: expect.stringMatching(/symbolic link/) }]);
  });

  it('secrets/ itself as a symbolic link is a problem, not an empty tree', async () => {
    project = makeProject({ files: { 'elsewhere/staging/api/password': fakeCiphertext() } });
    rmSync(join(project.root, 'secrets'), { recursive: true });
    symlinkSync(join(project.root, 'elsewhere'), join(project.root, 'secrets'));
    const tree = await scanSecretsTree(project.root, defaults);
    expect(tree.problems).toEqual([{ file: 'secrets', rule: 'a symbolic link; secrets/ must be a directory of the repository itself' }]);
  });

  it('a name with control characters (an escape sequence) is shown escaped, never raw', async () => {
    const tree = await scan({ 'secrets/staging/api/\u001b[2Jgone': fakeCiphertext() });
    expect(tree.problems.map((p) => p.file)).toEqual(['secrets/staging/api/\\x1b[2Jgone']);
    expect(JSON.stringify(tree.problems)).not.toContain('\\u001b');
  });

  it('loading a bad tree throws one error that lists every problem', async () => {
    project = makeProject({ files: { 'secrets/staging/api/a': 'plain', 'secrets/staging/api/b': '' } });
    const error = await loadSecretsTree(project.root, defaults).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsTreeError);
    expect((error as SecretsTreeError).problems.map((p) => p.file)).toEqual(['secrets/staging/api/a', 'secrets/staging/api/b']);
    expect((error as Error).message).toMatch(/2 problems/);
  });

  it('never quotes file content in a problem', async () => {
    const tree = await scan({ 'secrets/staging/api/password': 'MARKER-PLAINTEXT-7f3a' });
    expect(JSON.stringify(tree.problems)).not.toContain('MARKER-PLAINTEXT-7f3a');
  });
});

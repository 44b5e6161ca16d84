import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { fakeCiphertext, makeProject, type TestProject } from '../support/project.ts';

let project: TestProject | undefined;
afterEach(() => project?.remove());

describe('kms-secrets verify', () => {
  it('passes a good tree and says what it checked', async () => {
    project = makeProject({ files: { 'secrets/staging/api/db-password': fakeCiphertext(), 'secrets/staging/web/key': fakeCiphertext() } });
    const run = await runCli(['verify'], { cwd: project.root });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('secrets tree OK: 2 secrets in 2 services of 1 environment (staging)\n');
  });

  it('exits 1 listing every problem with its file, and a hint', async () => {
    project = makeProject({
      files: {
        'secrets/staging/api/db-password': 'MARKER-PLAINTEXT-5e1f',
        'secrets/staging/Web/key': fakeCiphertext(),
        'secrets/staging/api/empty': '',
      },
    });
    const run = await runCli(['verify'], { cwd: project.root });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the secrets tree has 3 problems/);
    expect(run.stderr).toMatch(/secrets\/staging\/Web: service name "Web" must match/);
    expect(run.stderr).toMatch(/secrets\/staging\/api\/db-password: not ciphertext/);
    expect(run.stderr).toMatch(/secrets\/staging\/api\/empty: the file is empty/);
    expect(run.stderr).toMatch(/^hint: /m);
    expect(run.stdout + run.stderr).not.toContain('MARKER-PLAINTEXT-5e1f');
  });

  it('reports a broken settings file instead of a stack trace', async () => {
    project = makeProject({ files: { 'kms-secrets.json': '{"defaults": {"regoin": "eu-west-1"}}' } });
    const run = await runCli(['verify'], { cwd: project.root });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: kms-secrets.json: defaults: unknown setting "regoin"; allowed: region, bucketPrefix, .*\n$/);
    expect(run.stderr.split('\n')).toHaveLength(2);
  });
});

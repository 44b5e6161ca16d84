/** `kms-secrets list`: the tree as a table, from files and git only. */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { TestProject } from '../support/project.ts';
import { cli, localProject, startAws, type Aws } from './support.ts';

let aws: Aws;
let project: TestProject;
beforeAll(async () => {
  aws = await startAws();
  await aws.createKey('alias/kms-secrets/prod');
});
afterAll(() => aws.close());
afterEach(() => project?.remove());

function git(...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
    cwd: project.root,
    env: { ...process.env, GIT_COMMITTER_DATE: '2024-03-05T10:00:00Z', GIT_AUTHOR_DATE: '2024-03-05T10:00:00Z' },
    stdio: 'ignore',
  });
}

describe('kms-secrets list', () => {
  test('shows every secret with its variable, format, size and last commit date, without any AWS call', async () => {
    project = localProject(['demo', 'prod']);
    await cli(aws, project, ['encrypt', 'api/db-password'], { input: 'a' });
    await cli(aws, project, ['encrypt', '--env', 'prod', 'web/session.key'], { input: 'b' });
    git('init', '-q');
    git('add', 'secrets');
    git('commit', '-q', '-m', 'secrets');
    await cli(aws, project, ['encrypt', 'api/tls.crt', '--from-file', project.write('in/cert', 'c'.repeat(5000))]);
    const requestsBefore = aws.endpoint.requests().length;
    const run = await cli(aws, project, ['list']);

    expect(aws.endpoint.requests()).toHaveLength(requestsBefore);
    expect(run.code).toBe(0);
    const size = (file: string) => String(statSync(join(project.root, 'secrets', file)).size);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.map((line) => line.split(/ +/))).toEqual([
      ['ENV', 'SERVICE', 'SECRET', 'VARIABLE', 'FORMAT', 'SIZE', 'CHANGED'],
      ['demo', 'api', 'db-password', 'DB_PASSWORD', 'local', size('demo/api/db-password'), '2024-03-05'],
      ['demo', 'api', 'tls.crt', 'TLS_CRT', 'envelope', size('demo/api/tls.crt'), '-'],
      ['prod', 'web', 'session.key', 'SESSION_KEY', 'local', size('prod/web/session.key'), '2024-03-05'],
    ]);
    // Columns line up: sizes end under "SIZE", dates start under "CHANGED".
    const changedColumn = lines[0]!.indexOf('CHANGED');
    for (const line of lines) expect(line[changedColumn - 3]).toMatch(/[0-9E]/);
    for (const line of lines) expect(line.slice(changedColumn)).toMatch(/^(CHANGED|\d{4}-\d\d-\d\d|-)$/);
  });

  test('--env narrows the table to one env; SECRETS_ENV does not', async () => {
    project = localProject(['demo', 'prod']);
    await cli(aws, project, ['encrypt', 'api/db-password'], { input: 'a' });
    await cli(aws, project, ['encrypt', '--env', 'prod', 'web/session.key'], { input: 'b' });
    const narrowed = await cli(aws, project, ['list', '--env', 'prod']);
    const everything = await cli(aws, project, ['list'], { env: { SECRETS_ENV: 'prod' } });

    expect(narrowed.stdout.split('\n').slice(1, -1).map((line) => line.split(/ +/)[0])).toEqual(['prod']);
    expect(everything.stdout.split('\n').slice(1, -1).map((line) => line.split(/ +/)[0])).toEqual(['demo', 'prod']);
  });

  test('an unknown --env is an error that lists the envs', async () => {
    project = localProject(['demo', 'prod']);
    const run = await cli(aws, project, ['list', '--env', 'staging']);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe('kms-secrets: unknown env "staging" (from --env): there is no secrets/staging directory; envs: demo, prod\nhint: choose an env with --env or SECRETS_ENV\n');
  });
});

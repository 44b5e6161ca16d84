/** `kms-secrets exec`: which variables the command gets, and the rules that refuse to start it. */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT_NOT_LOADED, EXIT_USAGE } from '../../runtime/cli.ts';
import { EXIT_COMMAND_NOT_EXECUTABLE, EXIT_COMMAND_NOT_FOUND } from '../../runtime/child.ts';
import { runCli } from '../support/cli.ts';
import { roleWithPolicy } from '../support/roles.ts';
import { childReport, declare, execChild, fingerprint, openStore, putSecrets, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
const api = { dbPassword: secretValue('api-db'), tlsCrt: secretValue('api-tls').padEnd(6000, 'x') };
const worker = { queueUrl: secretValue('worker-queue') };
const web = { sessionKey: secretValue('web-session') };

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, {
    'api/db-password': api.dbPassword,
    'api/tls.crt': api.tlsCrt, // over 4 KB: an Encryption SDK envelope
    'worker/queue-url': worker.queueUrl,
    'web/session-key': web.sessionKey,
    'twin-a/db-password': secretValue('twin-a'),
    'twin-b/db-password': secretValue('twin-b'),
  });
  // Empty "folders", as the S3 console creates them: not secrets.
  for (const key of ['api/', 'worker/old/']) await store.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: Buffer.alloc(0) }));
});
afterAll(() => store.close());

const PRINT = 'print=DB_PASSWORD,TLS_CRT,QUEUE_URL,SESSION_KEY';

describe('the command’s environment', () => {
  test('is its own environment plus exactly the secrets of the selected services, named by the tree’s rule', async () => {
    const env = runtimeEnv(store, { SECRETS_SERVICES: 'api,worker' });
    const run = await execChild(store, [], [PRINT], env);

    expect(run.code).toBe(0);
    const report = childReport(run);
    expect(report.fingerprints).toEqual({
      DB_PASSWORD: fingerprint(api.dbPassword),
      TLS_CRT: fingerprint(api.tlsCrt),
      QUEUE_URL: fingerprint(worker.queueUrl),
    });
    expect(report.names).toEqual([...Object.keys(env), 'DB_PASSWORD', 'QUEUE_URL', 'TLS_CRT'].sort());
  });

  test('takes --service over SECRETS_SERVICES, and --bucket/--env over their variables', async () => {
    const env = runtimeEnv(store, { SECRETS_SERVICES: 'api', SECRETS_BUCKET: 'no-such-bucket', SECRETS_ENV: 'production' });
    const run = await execChild(store, ['--bucket', store.bucket, '--env', store.env, '--service', 'web'], [PRINT], env);

    expect(run.code).toBe(0);
    expect(childReport(run).fingerprints).toEqual({ SESSION_KEY: fingerprint(web.sessionKey) });
  });

  test('--verbose names each variable and its source on stderr, never a value', async () => {
    const run = await execChild(store, ['--service', 'api', '--verbose']);

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('kms-secrets: set DB_PASSWORD from api/db-password\n');
    expect(run.stderr).toContain('kms-secrets: set TLS_CRT from api/tls.crt\n');
    expect(run.stderr).toMatch(/starting .*node with 2 variables set/);
  });
});

describe('a variable already in the environment', () => {
  test('is not replaced: the command does not start, and the variable is named', async () => {
    const run = await execChild(store, ['--service', 'api'], [], runtimeEnv(store, { DB_PASSWORD: 'from-the-image' }));

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toContain('kms-secrets: api/db-password: already set (DB_PASSWORD is already set in the environment;');
  });

  test('is replaced with --override', async () => {
    const run = await execChild(store, ['--service', 'api', '--override'], [PRINT], runtimeEnv(store, { DB_PASSWORD: 'from-the-image' }));

    expect(run.code).toBe(0);
    expect(childReport(run).fingerprints.DB_PASSWORD).toBe(fingerprint(api.dbPassword));
  });

  test('is replaced with SECRETS_OVERRIDE=1', async () => {
    const run = await execChild(store, ['--service', 'api'], [PRINT], runtimeEnv(store, { DB_PASSWORD: '', SECRETS_OVERRIDE: '1' }));

    expect(run.code).toBe(0);
    expect(childReport(run).fingerprints.DB_PASSWORD).toBe(fingerprint(api.dbPassword));
  });
});

describe('names that cannot become variables', () => {
  test('two services with a secret for the same variable: the command does not start', async () => {
    const run = await execChild(store, ['--service', 'twin-a', '--service', 'twin-b']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toContain('kms-secrets: twin-b/db-password: naming rule (maps to DB_PASSWORD, like twin-a/db-password;');
  });

  test('an object whose name breaks the naming rule is refused by name', async () => {
    await store.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'odd/9lives', Body: 'never read' }));
    await declare(store, ['odd/lives']);
    const run = await execChild(store, ['--service', 'odd']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toContain('kms-secrets: odd/9lives: naming rule (secret name "9lives" breaks the naming rule');
  });
});

test('an object key with an escape sequence in it is shown escaped in the failure, never raw', async () => {
  await store.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'ansi/\u001b[2Jx', Body: 'never read' }));
  await declare(store, ['ansi/x']);
  const run = await execChild(store, ['--service', 'ansi']);

  expect(run.code).toBe(EXIT_NOT_LOADED);
  expect(run.stderr).toContain('kms-secrets: ansi/\\x1b[2Jx: naming rule (secret name "\\x1b[2Jx" breaks the naming rule');
  expect(run.stderr).not.toContain('\u001b');
});

describe('usage', () => {
  test('without a bucket, the command does not start and the exit code is 2', async () => {
    const env = runtimeEnv(store, { SECRETS_SERVICES: 'api' });
    delete env.SECRETS_BUCKET;
    const run = await execChild(store, [], [], env);

    expect(run.code).toBe(EXIT_USAGE);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toContain('missing --bucket (or SECRETS_BUCKET)');
  });

  test('a command given without -- : the error says the command goes after --', async () => {
    const run = await runCli(['exec', '--service', 'api', 'env'], { cwd: store.scratch, env: runtimeEnv(store) });

    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toContain("Unexpected argument 'env'");
    expect(run.stderr).toContain('the command goes after --, e.g. kms-secrets exec --service api -- node server.js');
  });

  test.each(['3000000', '0', 'soon'])('--deadline %s is refused, naming the limit, before anything loads', async (deadline) => {
    const run = await execChild(store, ['--service', 'api', '--deadline', deadline]);

    expect(run.code).toBe(EXIT_USAGE);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toMatch(deadline === '3000000' ? /--deadline must be at most 2147483 seconds \(about 24 days\), not "3000000"/ : /--deadline must be (a duration such as 30s|at least 1 ms)/);
    expect(run.stderr).not.toContain('TimeoutOverflowWarning');
  });

  test('a command that does not exist exits 127, as in a shell', async () => {
    const run = await runCli(['exec', '--service', 'api', '--', 'no-such-command-here'], { cwd: store.scratch, env: runtimeEnv(store) });

    expect(run.code).toBe(EXIT_COMMAND_NOT_FOUND);
    expect(run.stderr).toContain('cannot run "no-such-command-here": not found');
  });

  test('a file that is not executable exits 126, as in a shell, and nothing starts', async () => {
    const script = join(store.scratch, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\necho started\n', { mode: 0o644 });
    const run = await runCli(['exec', '--service', 'api', '--', script], { cwd: store.scratch, env: runtimeEnv(store) });

    expect(run.code).toBe(EXIT_COMMAND_NOT_EXECUTABLE);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`cannot run "${script}": EACCES`);
  });
});

describe('an env and a bucket of different envs', () => {
  const disagree = (env: string) => `kms-secrets: the env and the bucket disagree: the env is ${env} (--env or SECRETS_ENV), but the bucket ${store.bucket} (--bucket or SECRETS_BUCKET) `
    + `is not env ${env}'s, which the stack names <bucketPrefix>${env}-secrets\n`
    + 'hint: give the env and the bucket of one env: the stack outputs both for each service, as SECRETS_ENV and SECRETS_BUCKET\n';

  test('--env prod with staging\'s bucket: whatever AWS answers, the last lines say the two disagree and name the options', async () => {
    // prod's task role, as the stack draws it: prod's bucket and prod's encryption context only.
    const prodTask = await roleWithPolicy(store.endpoint.url, 'prod-task-api', [
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::kms-secrets-prod-secrets' },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::kms-secrets-prod-secrets/*' },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:env': 'prod' } } },
    ]);
    const asProdTask = await execChild(store, ['--env', 'prod', '--service', 'api'], [], runtimeEnv(store, {}, prodTask));
    const asAdministrator = await execChild(store, ['--env', 'prod', '--service', 'api']);

    expect(asProdTask.childRan).toBe(false);
    expect(asProdTask.code).toBe(EXIT_NOT_LOADED);
    expect(asProdTask.stderr).toMatch(/^kms-secrets: api\/\*: AccessDenied \(.*s3:ListBucket on resource: arn:aws:s3:::kms-secrets-staging-secrets/);
    expect(asProdTask.stderr.endsWith(`kms-secrets: 1 secret could not be loaded; the command was not started\n${disagree('prod')}`)).toBe(true);
    expect(asAdministrator.childRan).toBe(false);
    expect(asAdministrator.stderr).toMatch(/^kms-secrets: \.declared\/api\.json: not declared \(.* declares the secrets of env staging, service api, not of env prod, service api\)\n/);
    expect(asAdministrator.stderr.endsWith(disagree('prod'))).toBe(true);
  });

  test('a failure with the env\'s own bucket says nothing of a disagreement', async () => {
    const run = await execChild(store, ['--service', 'ghost']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).not.toContain('disagree');
  });
});

/** `kms-secrets encrypt`: every way a value comes in, the rules that refuse to write, and what failures say. */
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ACCOUNT_ID } from '../../local/index.ts';
import { makeProject, type TestProject } from '../support/project.ts';
import { credentialsEnv, roleWithPolicy } from '../support/roles.ts';
import { ALIAS, cli, filesIn, hangingEndpoint, localProject, runInTerminal, startAws, startCli, type Aws } from './support.ts';

let aws: Aws;
let project: TestProject;
beforeAll(async () => (aws = await startAws()));
afterAll(() => aws.close());
afterEach(() => project?.remove());

const secretFile = (name: string) => join(project.root, 'secrets', 'demo', 'api', name);

async function decrypted(name: string): Promise<Buffer> {
  const run = await cli(aws, project, ['decrypt', `api/${name}`, '--reveal']);
  expect(run.stderr).toMatch(/decrypts/);
  return run.stdoutBytes;
}

describe('the value round-trips through KMS from every input', () => {
  test('a hidden prompt on a terminal, asked twice, never echoed', async () => {
    project = localProject();
    const value = `typed-${randomBytes(6).toString('hex')}`;
    const run = await runInTerminal(aws, project, ['encrypt', 'api/typed'], [
      { after: 'value for demo/api/typed (hidden): ', type: `${value}\r` },
      { after: 'again, to confirm: ', type: `${value}\r` },
    ]);

    expect(run.code).toBe(0);
    expect(run.screen).toContain('env demo: wrote secrets/demo/api/typed — local blob');
    expect(run.screen).not.toContain(value);
    expect((await decrypted('typed')).toString()).toBe(value);
  });

  test('keys typed before the prompt appears are dropped, not taken as an answer', async () => {
    project = localProject();
    const typedEarly = `typed-early-${randomBytes(4).toString('hex')}`;
    const run = await runInTerminal(aws, project, ['encrypt', 'api/password'], [
      { after: '(hidden): ', type: 'the-real-value\r' },
      { after: 'confirm: ', type: 'the-real-value\r' },
    ], {}, `${typedEarly}\r`);

    expect(run.code, run.screen).toBe(0);
    expect(run.screen).toMatch(/\(ignored \d+ keys typed before the prompt\)/);
    expect((await decrypted('password')).toString()).toBe('the-real-value');
  });

  test('two different answers at the prompt write nothing', async () => {
    project = localProject();
    const run = await runInTerminal(aws, project, ['encrypt', 'api/typo'], [
      { after: '(hidden): ', type: 'first-answer\r' },
      { after: 'confirm: ', type: 'second-answer\r' },
    ]);

    expect(run.code).toBe(1);
    expect(run.screen).toContain('kms-secrets: the two entries differ; nothing was written');
    expect(existsSync(secretFile('typo'))).toBe(false);
  });

  test('piped input loses one trailing newline, "\\n" or "\\r\\n"; --keep-newline keeps it', async () => {
    project = localProject();
    expect((await cli(aws, project, ['encrypt', '--env', 'demo', 'api/lf'], { input: 'value\n\n' })).code).toBe(0);
    expect((await cli(aws, project, ['encrypt', 'api/crlf'], { input: 'value\r\n' })).code).toBe(0);
    expect((await cli(aws, project, ['encrypt', 'api/kept', '--keep-newline'], { input: 'value\r\n' })).code).toBe(0);

    expect(await decrypted('lf')).toEqual(Buffer.from('value\n'));
    expect(await decrypted('crlf')).toEqual(Buffer.from('value'));
    expect(await decrypted('kept')).toEqual(Buffer.from('value\r\n'));
  });

  test('--from-file is byte-exact: binary bytes, and a 5,000-byte certificate as an envelope', async () => {
    project = localProject();
    const binary = Buffer.concat([randomBytes(300), Buffer.from([0, 0x0a, 0x0d, 0x0a])]);
    const certificate = Buffer.from(`-----BEGIN CERTIFICATE-----\n${randomBytes(3600).toString('base64').replace(/.{64}/g, '$&\n')}`.padEnd(4999, 'A') + '\n');
    expect(certificate.length).toBe(5000);
    const binaryRun = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/key.der', '--from-file', project.write('in/key.der', binary)]);
    const certRun = await cli(aws, project, ['encrypt', 'api/tls.crt', '--from-file', project.write('in/tls.crt', certificate)]);

    expect(binaryRun.code).toBe(0);
    expect(certRun.stdout).toMatch(/^env demo: wrote secrets\/demo\/api\/tls\.crt — envelope \(Encryption SDK\), \d+ bytes of ciphertext, key alias\/kms-secrets\/demo\n$/);
    expect(readFileSync(secretFile('tls.crt')).subarray(0, 3)).toEqual(Buffer.from([0x02, 0x04, 0x78]));
    expect(await decrypted('key.der')).toEqual(binary);
    expect(await decrypted('tls.crt')).toEqual(certificate);
  });

  test('an endless --from-file (/dev/zero) or an oversized pipe ends with a clear error, and nothing is written', async () => {
    project = localProject();
    const endless = await cli(aws, project, ['encrypt', 'api/password', '--from-file', '/dev/zero']);
    const piped = await cli(aws, project, ['encrypt', 'api/password'], { input: Buffer.alloc(4 * 1024 * 1024 + 1, 0x61) });

    expect(endless.code).toBe(1);
    expect(endless.stderr).toMatch(/^kms-secrets: --from-file \/dev\/zero is larger than 4 MiB, more than any secret; nothing was written\n/);
    expect(piped.code).toBe(1);
    expect(piped.stderr).toMatch(/^kms-secrets: the piped value is larger than 4 MiB/);
    expect(existsSync(secretFile('password'))).toBe(false);
  });

  test('an empty value is refused', async () => {
    project = localProject();
    const run = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/empty'], { input: '\n' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: empty value refused/);
    expect(existsSync(secretFile('empty'))).toBe(false);
  });
});

describe('replacing a secret', () => {
  test('is refused without --force, and the error says that is rotation and how', async () => {
    project = localProject();
    await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password'], { input: 'old' });
    const before = readFileSync(secretFile('password'));
    const run = await cli(aws, project, ['encrypt', 'api/password'], { input: 'new' });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'kms-secrets: secrets/demo/api/password already exists; replacing a secret\'s value is rotating it\n' +
      'hint: to rotate it, run: npm run encrypt -- --env demo api/password --force (then deploy, and restart the services that read it)\n',
    );
    expect(readFileSync(secretFile('password'))).toEqual(before);
  });

  test('--force onto a directory is refused before the value is read', async () => {
    project = localProject();
    mkdirSync(secretFile('password'), { recursive: true });
    const run = await cli(aws, project, ['encrypt', 'api/password', '--force'], { input: 'v' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: secrets\/demo\/api\/password is a directory, not a secret; nothing was written\n/);
    expect(filesIn(secretFile('password'))).toEqual([]);
  });

  test('happens with --force, and says "replaced"', async () => {
    project = localProject();
    await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password'], { input: 'old' });
    const run = await cli(aws, project, ['encrypt', 'api/password', '--force'], { input: 'new' });

    expect(run.stdout).toMatch(/^env demo: replaced secrets\/demo\/api\/password/);
    expect((await decrypted('password')).toString()).toBe('new');
  });
});

describe('an interrupted encrypt leaves the old file and nothing else', () => {
  test('Ctrl-C at the prompt', async () => {
    project = localProject();
    await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password'], { input: 'old' });
    const before = readFileSync(secretFile('password'));
    const run = await runInTerminal(aws, project, ['encrypt', 'api/password', '--force'], [
      { after: '(hidden): ', type: 'new-value\r' },
      { after: 'confirm: ', type: '\x03' },
    ]);

    expect(run.code).toBe(130); // script(1) reports a child killed by SIGINT as 128 + 2
    expect(readFileSync(secretFile('password'))).toEqual(before);
    expect(filesIn(join(project.root, 'secrets', 'demo', 'api'))).toEqual(['password']);
  });

  test('SIGINT while the KMS call is in flight', async () => {
    project = localProject();
    await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password'], { input: 'old' });
    const before = readFileSync(secretFile('password'));
    const kms = await hangingEndpoint();
    try {
      const { child, done } = startCli(aws, project, ['encrypt', 'api/password', '--force'], { input: 'new-value', env: { AWS_ENDPOINT_URL_KMS: kms.url } });
      await kms.arrived;
      child.kill('SIGINT');
      const run = await done;

      expect(run.signal).toBe('SIGINT');
      expect(readFileSync(secretFile('password'))).toEqual(before);
      expect(filesIn(join(project.root, 'secrets', 'demo', 'api'))).toEqual(['password']);
    } finally {
      await kms.close();
    }
  });
});

describe('refusals name the rule', () => {
  test('an env that does not exist needs --env to be created', async () => {
    project = localProject(['demo'], false);
    const implied = await cli(aws, project, ['encrypt', 'api/password'], { input: 'v', env: { SECRETS_ENV: 'prodution' } });
    const named = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password'], { input: 'v' });

    expect(implied.code).toBe(1);
    expect(implied.stderr).toBe(
      'kms-secrets: unknown env "prodution" (from SECRETS_ENV): there is no secrets/prodution directory; envs: none yet\n' +
      'hint: to start a new env, name it on the command line: --env prodution\n',
    );
    expect(named.stdout).toMatch(/^env demo \(new\): wrote secrets\/demo\/api\/password/);
  });

  test('in a project with no env at all, the first encrypt starts the default env and says so', async () => {
    project = localProject(['demo'], false);
    const run = await cli(aws, project, ['encrypt', 'api/password'], { input: 'v' });

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^env demo \(new: the first env, the settings' defaultEnv\): wrote secrets\/demo\/api\/password/);
    expect(filesIn(join(project.root, 'secrets', 'demo', 'api'))).toEqual(['password']);
  });

  test('a new env one letter from an existing one is taken for a typo: nothing is asked, nothing written', async () => {
    project = localProject(['demo', 'staging']);
    const before = aws.endpoint.requests().length;
    const run = await cli(aws, project, ['encrypt', '--env', 'stagng', 'api/password'], { input: 'v' });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe('kms-secrets: unknown env "stagng" (from --env): did you mean "staging"? envs: demo, staging\n'
      + 'hint: to start a new env "stagng" all the same, create its directory first: mkdir secrets/stagng\n');
    expect(existsSync(join(project.root, 'secrets', 'stagng'))).toBe(false);
    expect(aws.endpoint.requests().length).toBe(before);
  });

  test('a new env that was never deployed: the hint says how to create its key', async () => {
    project = localProject(['demo', 'fresh'], false);
    mkdirSync(join(project.root, 'secrets', 'demo'));
    const run = await cli(aws, project, ['encrypt', '--env', 'fresh', 'api/password'], { input: 'v' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: secrets\/fresh\/api\/password: alias\/kms-secrets\/fresh does not exist in region/);
    expect(run.stderr).toContain('hint: env fresh is new, so it has no key yet: mkdir -p secrets/fresh && npm run cdktf -- deploy fresh (an administrator\'s first deploy creates it), then encrypt again\n');
    expect(existsSync(join(project.root, 'secrets', 'fresh'))).toBe(false);
  });

  test('an env not marked local, against an endpoint on this machine: refused before the value is asked, and KMS is not called', async () => {
    project = makeProject({ settings: { defaultEnv: 'demo', environments: { demo: { keyAdministrators: ['arn:aws:iam::111122223333:role/kms-admin'] } } } });
    mkdirSync(join(project.root, 'secrets', 'demo'));
    const before = aws.endpoint.requests().length;
    const run = await runInTerminal(aws, project, ['encrypt', 'api/password']);

    expect(run.code).toBe(1);
    expect(run.screen).toBe(
      `kms-secrets: secrets/demo/api/password: env "demo" is not marked "local": true, but KMS is ${aws.endpoint.url} (AWS_ENDPOINT_URL), an endpoint on this machine `
      + 'whose ciphertext would not decrypt in AWS; nothing was asked or written\r\n'
      + 'hint: unset AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS to use AWS, or mark the env local in kms-secrets.json\r\n',
    );
    expect(aws.endpoint.requests().length).toBe(before);
    expect(filesIn(join(project.root, 'secrets', 'demo'))).toEqual([]);
  });

  test('a name that breaks the naming rule says the rule', async () => {
    project = localProject();
    const run = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/9lives'], { input: 'v' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: secret name "9lives" breaks the naming rule: letters, digits.*\[A-Z_\]\[A-Z0-9_\]\*/);
  });

  test('a secret that would set a loader variable (NODE_OPTIONS, LD_PRELOAD) is refused before the value is read or KMS is asked', async () => {
    project = localProject();
    const before = aws.endpoint.requests().length;
    const runs = [
      await cli(aws, project, ['encrypt', '--env', 'demo', 'api/node-options'], { input: '--import=data:text/javascript,x' }),
      await cli(aws, project, ['encrypt', '--env', 'demo', 'api/ld.preload'], { input: '/tmp/evil.so' }),
    ];

    expect(runs.map((run) => run.code)).toEqual([1, 1]);
    expect(runs[0]!.stderr).toMatch(/^kms-secrets: secrets\/demo\/api\/node-options: NODE_OPTIONS changes how programs start or what code they load \(Node\.js\)/);
    expect(runs[1]!.stderr).toMatch(/^kms-secrets: secrets\/demo\/api\/ld\.preload: LD_PRELOAD changes how programs start/);
    expect(filesIn(join(project.root, 'secrets', 'demo'))).toEqual([]);
    expect(aws.endpoint.requests().slice(before).filter((r) => r.service === 'kms')).toEqual([]);
  });

  test('a secret that maps to the same variable as another of its service is refused before the value is read', async () => {
    project = localProject();
    await cli(aws, project, ['encrypt', '--env', 'demo', 'api/db-password'], { input: 'v' });
    const before = aws.endpoint.requests().length;
    const run = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/db_password'], { input: 'w' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: secrets\/demo\/api\/db_password: maps to DB_PASSWORD, like db-password in the same service; rename one of them\n/);
    expect(filesIn(join(project.root, 'secrets', 'demo', 'api'))).toEqual(['db-password']);
    expect(aws.endpoint.requests().slice(before).filter((r) => r.service === 'kms')).toEqual([]);
  });

  test('a symbolic link on the way (a linked service directory) is refused: nothing is written where it points', async () => {
    project = localProject();
    const elsewhere = join(project.root, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(project.root, 'secrets', 'demo', 'api'));
    const run = await cli(aws, project, ['encrypt', 'api/password'], { input: 'v' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: secrets\/demo\/api is a symbolic link: the ciphertext would be written wherever it points; nothing was written\n/);
    expect(filesIn(elsewhere)).toEqual([]);
  });

  test('from a subdirectory of the project (inside secrets/demo), it acts on the project, as git does', async () => {
    project = localProject();
    const inside = join(project.root, 'secrets', 'demo');
    const encrypted = await cli(aws, project, ['encrypt', 'api/password'], { input: 'v', cwd: inside });
    const listed = await cli(aws, project, ['list'], { cwd: join(project.root, 'secrets') });

    expect(encrypted.code, encrypted.stderr).toBe(0);
    expect(encrypted.stdout).toMatch(/^env demo: wrote secrets\/demo\/api\/password/);
    expect(filesIn(join(project.root, 'secrets', 'demo', 'api'))).toEqual(['password']);
    expect(existsSync(join(inside, 'secrets'))).toBe(false);
    expect(listed.stdout).toMatch(/^demo +api +password +PASSWORD /m);
  });

  test('the value is never an argument', async () => {
    project = localProject();
    const run = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password', 'hunter2'], { input: 'v' });

    expect(run.code, 'a usage mistake').toBe(2);
    expect(run.stderr).toMatch(/^kms-secrets: encrypt takes exactly one <service>\/<secret>; the value is never an argument\n/);
  });
});

describe('what KMS answers must be a ciphertext kms-secrets reads', () => {
  test('a blob of no known format (another emulator\'s) is refused and nothing is written', async () => {
    project = localProject();
    // A KMS that answers Encrypt with its own kind of blob.
    const kms = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ CiphertextBlob: Buffer.from('EMUL-0123456789abcdef').toString('base64'), KeyId: ALIAS }));
    }).listen(0, '127.0.0.1');
    await once(kms, 'listening');
    try {
      const run = await cli(aws, project, ['encrypt', 'api/password'], { input: 'v', env: { AWS_ENDPOINT_URL_KMS: `http://127.0.0.1:${(kms.address() as AddressInfo).port}` } });

      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^kms-secrets: KMS Encrypt answered secret api\/password \(env demo\) with a ciphertext of no known format \(it starts 45 4d 55 4c 2d\); nothing was written\n/);
      expect(filesIn(join(project.root, 'secrets', 'demo'))).toEqual([]);
    } finally {
      kms.close();
    }
  });
});

describe('AWS failures are one line and a hint', () => {
  test('AccessDenied names the action and the key', async () => {
    project = localProject();
    const decryptOnly = await roleWithPolicy(aws.endpoint.url, 'decrypt-only', [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }]);
    const run = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password'], {
      input: 'v',
      env: credentialsEnv(decryptOnly),
    });

    expect(run.code).toBe(1);
    const [message, hint, ...rest] = run.stderr.split('\n');
    expect(message).toMatch(new RegExp(`^kms-secrets: secrets/demo/api/password: encrypt needs kms:Encrypt on ${ALIAS}: AccessDeniedException: User: arn:aws:sts::${ACCOUNT_ID}:assumed-role/decrypt-only/test is not authorized to perform: kms:Encrypt`));
    expect(hint).toMatch(/^hint: use credentials that hold kms:Encrypt on alias\/kms-secrets\/demo/);
    expect(rest).toEqual(['']);
    expect(existsSync(secretFile('password'))).toBe(false);
  });

  test('a disabled key', async () => {
    project = localProject();
    const keyId = await aws.createKey('alias/disabled-for-test');
    await aws.clients.kms.send(new DisableKeyCommand({ KeyId: keyId }));
    const run = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password', '--key', 'alias/disabled-for-test'], { input: 'v' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kms-secrets: secrets\/demo\/api\/password: alias\/disabled-for-test cannot be used, it is disabled or pending deletion: DisabledException/);
    expect(run.stderr).toMatch(/\nhint: enable it .* or choose another key with --key\n$/);
  });

  test('no credentials, reported before anyone is asked for the value', async () => {
    project = localProject();
    const run = await runInTerminal(aws, project, ['encrypt', 'api/password'], [], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });

    expect(run.code).toBe(1);
    expect(run.screen).toMatch(/^kms-secrets: secrets\/demo\/api\/password: no AWS credentials found \(default chain: .*\)\r\nhint: pick credentials: --profile NAME or AWS_PROFILE/);
  });

  test('a profile that does not exist is named, with the files it was looked for in, before the value is asked', async () => {
    project = localProject();
    const config = project.write('aws/config', '[default]\nregion = us-east-1\n\n[profile deployer]\nregion = eu-west-1\n[sso-session corp]\nsso_region = eu-west-1\n');
    const credentials = join(project.root, 'aws', 'no-credentials');
    const files = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials };
    const flag = await runInTerminal(aws, project, ['encrypt', 'api/password', '--profile', 'nosuch'], [], files);
    const variable = await cli(aws, project, ['encrypt', 'api/password'], { input: 'v', env: { ...files, AWS_PROFILE: 'nosuch' } });

    const message = (source: string) => `kms-secrets: AWS profile "nosuch" (from ${source}) is in neither shared file: `
      + `${config} (profiles: default, deployer), ${credentials} (no such file)`;
    const hint = 'hint: name a profile that exists (aws configure list-profiles), or create this one: aws configure --profile nosuch, or aws configure sso';
    expect(flag.code).toBe(1);
    expect(flag.screen, 'refused before the prompt').toBe(`${message('--profile')}\r\n${hint}\r\n`);
    expect(variable.code).toBe(1);
    expect(variable.stderr).toBe(`${message('AWS_PROFILE')}\n${hint}\n`);
    expect(existsSync(secretFile('password'))).toBe(false);
  });

  test('an endpoint that does not answer: from the first retry on, stderr says what it waits for and which attempt it is; stdout stays empty', async () => {
    project = localProject();
    const kms = await hangingEndpoint();
    try {
      const { child, done } = startCli(aws, project, ['encrypt', 'api/password'], { input: 'v', env: { AWS_ENDPOINT_URL_KMS: kms.url } });
      let stderr = '';
      await new Promise<void>((resolve) => child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('\n')) resolve();
      }));
      child.kill('SIGINT');
      const run = await done;

      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(new RegExp(`^kms-secrets: waiting for KMS at ${kms.url}: attempt 2 of 8 \\(the last: no answer in time \\(3 s to connect, 5 s to answer\\)\\)\n`));
      expect(filesIn(join(project.root, 'secrets', 'demo'))).toEqual([]);
    } finally {
      await kms.close();
    }
  });

  test('throttling is retried with backoff', async () => {
    project = localProject();
    aws.endpoint.faults.add({ service: 'kms', operation: 'Encrypt', kind: 'throttle', times: 2 });
    const run = await cli(aws, project, ['encrypt', '--env', 'demo', 'api/password'], { input: 'v' });

    expect(run.code).toBe(0);
    expect(aws.endpoint.requests().filter((r) => r.operation === 'Encrypt' && r.fault === 'throttle')).toHaveLength(2);
  });
});

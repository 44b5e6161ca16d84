/**
 * The attack this stops: a developer, who may only encrypt, plants a secret named `node-options` whose value
 * makes Node run code of theirs in the task (`--import=data:…`), which writes the whole environment — every
 * secret — where they can read it. An object planted in the bucket directly, past git and the tree check,
 * is refused by the runtime itself: exec, write and loadSecrets.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { awsClients } from '../../lib/aws.ts';
import { TEST_CREDENTIALS } from '../../local/index.ts';
import { EXIT_NOT_LOADED } from '../../runtime/cli.ts';
import { loadSecrets, SecretsLoadError } from '../../runtime/index.ts';
import { runCli } from '../support/cli.ts';
import { childReport, execChild, expectNoValueIn, fingerprint, openStore, putSecrets, REGION, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
let exfiltrated: string;

beforeAll(async () => {
  store = await openStore();
  exfiltrated = join(store.scratch, 'stolen-environment.json');
  // An attacker would write the values; the test writes only the names, which proves the same access.
  const payload = `import{writeFileSync}from"node:fs";writeFileSync(${JSON.stringify(exfiltrated)},JSON.stringify(Object.keys(process.env)))`;
  await putSecrets(store, {
    'api/db-password': secretValue('api-db'),
    'api/node-options': `--import=data:text/javascript,${encodeURIComponent(payload)}`,
    'jvm/java-tool-options': '-Xmx64m',
    'shell/bash_env': '/tmp/planted.sh',
  });
});
afterAll(() => store.close());

describe('a secret that would set a loader variable stops the start', () => {
  test('exec: NODE_OPTIONS from a planted object never reaches the app, and its code never runs', async () => {
    const run = await execChild(store, ['--service', 'api']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toMatch(/^kms-secrets: api\/node-options: loader variable \(NODE_OPTIONS changes how programs start or what code they load \(Node\.js\)/m);
    expect(existsSync(exfiltrated)).toBe(false);
  });

  test('exec: BASH_ENV too', async () => {
    const run = await execChild(store, ['--service', 'shell']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toMatch(/^kms-secrets: shell\/bash_env: loader variable \(BASH_ENV /m);
  });

  test('write: the sidecar writes no file at all', async () => {
    const dir = join(store.scratch, 'volume');
    const run = await runCli(['write', '--dir', dir, '--service', 'api'], { cwd: store.scratch, env: runtimeEnv(store) });
    expectNoValueIn(store, run);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.stderr).toMatch(/api\/node-options: loader variable/);
    expect(existsSync(dir)).toBe(false);
  });

  test('loadSecrets: a SecretsLoadError naming the secret', async () => {
    const clients = awsClients({ endpoint: store.endpoint.url, region: REGION, credentials: TEST_CREDENTIALS });
    const error = await loadSecrets({ bucket: store.bucket, env: store.env, services: ['api'], clients }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SecretsLoadError);
    expect((error as SecretsLoadError).failures).toEqual([expect.objectContaining({ subject: 'api/node-options', kind: 'loader-variable' })]);
  });
});

describe('an env may allow a named loader variable explicitly', () => {
  test('with --allow-loader-variable (or SECRETS_ALLOW_LOADER_VARIABLES, from the stack output) the app gets it', async () => {
    const byFlag = await execChild(store, ['--service', 'jvm', '--allow-loader-variable', 'JAVA_TOOL_OPTIONS'], ['print=JAVA_TOOL_OPTIONS']);
    const byVariable = await execChild(store, ['--service', 'jvm'], ['print=JAVA_TOOL_OPTIONS'], runtimeEnv(store, { SECRETS_ALLOW_LOADER_VARIABLES: 'JAVA_TOOL_OPTIONS' }));

    for (const run of [byFlag, byVariable]) {
      expect(run.code).toBe(0);
      expect(childReport(run).fingerprints.JAVA_TOOL_OPTIONS).toBe(fingerprint('-Xmx64m'));
    }
  });

  test('allowed, a planted NODE_OPTIONS does run its code with every secret in reach: why it is refused by default', async () => {
    const run = await execChild(store, ['--service', 'api', '--allow-loader-variable', 'NODE_OPTIONS']);

    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(exfiltrated, 'utf8'))).toContain('DB_PASSWORD');
    rmSync(exfiltrated);
  });

  test('allowing one variable allows no other', async () => {
    const run = await execChild(store, ['--service', 'api', '--allow-loader-variable', 'JAVA_TOOL_OPTIONS']);

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(existsSync(exfiltrated)).toBe(false);
  });
});

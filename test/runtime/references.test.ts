/** `ssm://` and `secretsmanager://` values in the environment are replaced by what they point to. */
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT_NOT_LOADED } from '../../runtime/cli.ts';
import { childReport, execChild, fingerprint, openStore, putSecrets, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
/** 23 parameters: three GetParameters calls of at most 10 names. */
const parameters = Array.from({ length: 23 }, (_, i) => ({ name: `/app/param-${i}`, variable: `PARAM_${i}`, value: secretValue(`param-${i}`) }));
const versions = [secretValue('db-url-v1'), secretValue('db-url-v2')];
const apiToken = secretValue('sm-api-token');
const dbPassword = secretValue('api-db');

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, { 'api/db-password': dbPassword });
  const [ssm, secretsManager] = await Promise.all([store.clients.ssm(), store.clients.secretsManager()]);
  for (const { name, value } of parameters) {
    store.values.add(value);
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString' }));
  }
  for (const value of versions) {
    store.values.add(value);
    await ssm.send(new PutParameterCommand({ Name: '/app/db-url', Value: value, Type: 'SecureString', Overwrite: true }));
  }
  store.values.add(apiToken);
  await secretsManager.send(new CreateSecretCommand({ Name: 'app/api-token', SecretString: apiToken }));
  await secretsManager.send(new CreateSecretCommand({ Name: 'app/keystore', SecretBinary: Buffer.from([0, 1, 2, 255]) }));
});
afterAll(() => store.close());

function getParametersCalls(): number {
  return store.endpoint.requests().filter((r) => r.operation === 'GetParameters').length;
}

describe('references in the environment', () => {
  test('ssm:// values become the decrypted parameter, at most 10 names per GetParameters call', async () => {
    const env = runtimeEnv(store, {
      SECRETS_SERVICES: 'api',
      ...Object.fromEntries(parameters.map(({ name, variable }) => [variable, `ssm://${name}`])),
      DB_URL_FIRST: 'ssm:///app/db-url:1',
      DB_URL_LATEST: 'ssm:///app/db-url',
      PARAM_0_AGAIN: 'ssm:///app/param-0',
    });
    const before = getParametersCalls();
    const names = [...parameters.map((p) => p.variable), 'DB_URL_FIRST', 'DB_URL_LATEST', 'PARAM_0_AGAIN', 'DB_PASSWORD'];
    const run = await execChild(store, [], [`print=${names.join(',')}`], env);

    expect(run.code).toBe(0);
    expect(childReport(run).fingerprints).toEqual({
      ...Object.fromEntries(parameters.map(({ variable, value }) => [variable, fingerprint(value)])),
      DB_URL_FIRST: fingerprint(versions[0]!),
      DB_URL_LATEST: fingerprint(versions[1]!),
      PARAM_0_AGAIN: fingerprint(parameters[0]!.value),
      DB_PASSWORD: fingerprint(dbPassword),
    });
    // 25 distinct names and selectors: 3 calls.
    expect(getParametersCalls() - before).toBe(3);
  });

  test('secretsmanager:// values become the secret’s SecretString', async () => {
    const run = await execChild(store, ['--service', 'api'], ['print=API_TOKEN'], runtimeEnv(store, { API_TOKEN: 'secretsmanager://app/api-token' }));

    expect(run.code).toBe(0);
    expect(childReport(run).fingerprints).toEqual({ API_TOKEN: fingerprint(apiToken) });
  });

  test('--verbose names each resolved variable with its reference', async () => {
    const run = await execChild(store, ['--service', 'api', '--verbose'], [], runtimeEnv(store, { API_TOKEN: 'secretsmanager://app/api-token' }));

    expect(run.stderr).toContain('kms-secrets: set API_TOKEN from secretsmanager://app/api-token\n');
  });
});

describe('an SSM that leaves Selector out of GetParameters answers (as some emulators do)', () => {
  test('a selected version is still matched, by the name and version the answer carries, and the plain name gets the newest', async () => {
    // Passes every request on to the local endpoint, and drops Selector from what GetParameters answers.
    const proxy = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const answer = await fetch(`${store.endpoint.url}${request.url}`, {
          method: request.method, body: Buffer.concat(chunks),
          headers: Object.fromEntries(Object.entries(request.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)) as [string, string][]),
        });
        let body = await answer.text();
        if (request.headers['x-amz-target'] === 'AmazonSSM.GetParameters' && answer.ok) {
          const parsed = JSON.parse(body) as { Parameters: { Selector?: string }[] };
          for (const parameter of parsed.Parameters) delete parameter.Selector;
          body = JSON.stringify(parsed);
        }
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/x-amz-json-1.1' }).end(body);
      });
    }).listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const env = runtimeEnv(store, {
        SECRETS_SERVICES: 'api', AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        DB_URL_V1: 'ssm:///app/db-url:1', DB_URL: 'ssm:///app/db-url', DB_URL_V2: 'ssm:///app/db-url:2',
      });
      const run = await execChild(store, [], ['print=DB_URL_V1,DB_URL,DB_URL_V2'], env);

      expect(run.code, run.stderr).toBe(0);
      expect(childReport(run).fingerprints).toEqual({ DB_URL_V1: fingerprint(versions[0]!), DB_URL: fingerprint(versions[1]!), DB_URL_V2: fingerprint(versions[1]!) });
    } finally {
      proxy.close();
    }
  });
});

describe('a reference that cannot be resolved stops the start', () => {
  test.each([
    ['a missing parameter', { DB_URL: 'ssm:///app/missing' }, 'DB_URL=ssm:///app/missing: not found (SSM parameter /app/missing does not exist'],
    ['a missing parameter version', { DB_URL: 'ssm:///app/db-url:9' }, 'DB_URL=ssm:///app/db-url:9: not found ('],
    ['a missing secret', { API_TOKEN: 'secretsmanager://app/missing' }, 'API_TOKEN=secretsmanager://app/missing: not found (ResourceNotFoundException'],
    ['a binary secret', { KEYSTORE: 'secretsmanager://app/keystore' }, 'KEYSTORE=secretsmanager://app/keystore: not text (secret app/keystore holds SecretBinary'],
    ['a malformed reference', { DB_URL: 'ssm:///app/db-url:latest' }, 'DB_URL=ssm:///app/db-url:latest: invalid request (expected ssm://<parameter name>[:<version number>]'],
  ])('%s', async (_case, references, line) => {
    const run = await execChild(store, ['--service', 'api'], [], runtimeEnv(store, references));

    expect(run.code).toBe(EXIT_NOT_LOADED);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toContain(`kms-secrets: ${line}`);
  });
});

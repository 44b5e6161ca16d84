/**
 * The SDK's credential chain inside the runtime — on Node, and compiled into the standalone executable,
 * where compiled runtimes have had credential bugs — as a task gets credentials: container credentials
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI, from ECS, or with an authorization token file as EKS Pod Identity
 * serves them) and a web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN). No access
 * key is in the environment; the request log shows who made each request.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ACCOUNT_ID, ecsTaskCredentialsUrl } from '../../local/index.ts';
import { assumeRole, createRole, webIdentityToken, type RoleCredentials } from '../support/roles.ts';
import { childReport, execChild, fingerprint, openStore, putSecrets, runtimeEnv, secretValue, type Store } from './support.ts';

let store: Store;
const dbPassword = secretValue('api-db');

/** What reads the service's secrets: the task role's inline policy. */
const readApi = (bucket: string) => [
  { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${bucket}` },
  { Effect: 'Allow', Action: 's3:GetObject', Resource: [`arn:aws:s3:::${bucket}/api/*`, `arn:aws:s3:::${bucket}/.declared/api.json`] },
  { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' },
];

const ISSUER = 'token.actions.githubusercontent.com';
const SUBJECT = 'repo:acme/api:ref:refs/heads/main';

beforeAll(async () => {
  store = await openStore();
  await putSecrets(store, { 'api/db-password': dbPassword });
  const policy = readApi(store.bucket);
  await createRole(store.endpoint.url, 'api-task', [{
    Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole',
    Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT_ID } },
  }], policy);
  await createRole(store.endpoint.url, 'api-oidc', [{
    Effect: 'Allow', Principal: { Federated: `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${ISSUER}` }, Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { [`${ISSUER}:aud`]: 'sts.amazonaws.com' }, StringLike: { [`${ISSUER}:sub`]: SUBJECT } },
  }], policy);
  await createRole(store.endpoint.url, 'api-pod', [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'sts:AssumeRole' }], policy);
});
afterAll(() => store.close());

/** The runtime's environment with no access key: the chain must find credentials from `source`. */
function withoutKeys(source: Record<string, string>): NodeJS.ProcessEnv {
  const env = runtimeEnv(store, { SECRETS_SERVICES: 'api', ...source });
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  delete env.AWS_SESSION_TOKEN;
  return env;
}

/** The principals of the requests that read secrets since `from`. */
function readersSince(from: number): string[] {
  return [...new Set(store.endpoint.requests().slice(from).filter((r) => r.operation === 'Decrypt' || r.operation === 'GetObject').map((r) => r.principal!))];
}

describe('container credentials', () => {
  test('from ECS (AWS_CONTAINER_CREDENTIALS_FULL_URI): the task role reads the secrets', async () => {
    const from = store.endpoint.requests().length;
    const run = await execChild(store, [], ['print=DB_PASSWORD'], withoutKeys({ AWS_CONTAINER_CREDENTIALS_FULL_URI: ecsTaskCredentialsUrl(store.endpoint.url, 'api-task') }));

    expect(run.code, run.stderr).toBe(0);
    expect(childReport(run).fingerprints).toEqual({ DB_PASSWORD: fingerprint(dbPassword) });
    expect(readersSince(from)).toEqual([expect.stringMatching(new RegExp(`^arn:aws:sts::${ACCOUNT_ID}:assumed-role/api-task/ecs-task-`))]);
  });

  describe('with an authorization token file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)', () => {
    let server: Server;
    let url: string;
    const seen: (string | undefined)[] = [];
    const token = 'pod-identity-token-0123456789';

    beforeAll(async () => {
      const role: RoleCredentials = await assumeRole(store.endpoint.url, 'api-pod');
      // A small credentials endpoint: answers only a request with the token of the file.
      server = createServer((request, response) => {
        seen.push(request.headers.authorization);
        if (request.headers.authorization !== token) {
          response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'bad token' }));
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          AccessKeyId: role.accessKeyId, SecretAccessKey: role.secretAccessKey, Token: role.sessionToken,
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }));
      }).listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/credentials`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('the token from the file is sent, and the role it stands for reads the secrets', async () => {
      const tokenFile = join(store.scratch, 'pod-token');
      writeFileSync(tokenFile, token); // as EKS writes it: no newline, which would be sent in the header
      seen.length = 0;
      const from = store.endpoint.requests().length;
      const run = await execChild(store, [], ['print=DB_PASSWORD'], withoutKeys({ AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile }));

      expect(run.code, run.stderr).toBe(0);
      expect(childReport(run).fingerprints).toEqual({ DB_PASSWORD: fingerprint(dbPassword) });
      expect(seen).toEqual([token]);
      expect(readersSince(from)).toEqual([`arn:aws:sts::${ACCOUNT_ID}:assumed-role/api-pod/test`]);
    });

    test('a refused token: the command never starts, and the error says it was the credentials', async () => {
      const tokenFile = join(store.scratch, 'wrong-token');
      writeFileSync(tokenFile, 'another-token');
      const run = await execChild(store, [], [], withoutKeys({ AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile }));

      expect(run.code).toBe(78);
      expect(run.childRan).toBe(false);
      expect(run.stderr).toMatch(/credential/i);
    });
  });
});

describe('web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)', () => {
  function tokenFile(sub: string): string {
    const file = join(store.scratch, `web-identity-${fingerprint(sub).slice(0, 8)}`);
    writeFileSync(file, webIdentityToken({ iss: `https://${ISSUER}`, sub, aud: 'sts.amazonaws.com' }));
    return file;
  }
  const webIdentity = (sub: string) => ({
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile(sub), AWS_ROLE_ARN: `arn:aws:iam::${ACCOUNT_ID}:role/api-oidc`, AWS_ROLE_SESSION_NAME: 'deploy-job',
  });

  test('the token is exchanged with STS for the role, which reads the secrets', async () => {
    const from = store.endpoint.requests().length;
    const run = await execChild(store, [], ['print=DB_PASSWORD'], withoutKeys(webIdentity(SUBJECT)));

    expect(run.code, run.stderr).toBe(0);
    expect(childReport(run).fingerprints).toEqual({ DB_PASSWORD: fingerprint(dbPassword) });
    const requests = store.endpoint.requests().slice(from);
    expect(requests.filter((r) => r.operation === 'AssumeRoleWithWebIdentity').map((r) => r.status)).toEqual([200]);
    expect(readersSince(from)).toEqual([`arn:aws:sts::${ACCOUNT_ID}:assumed-role/api-oidc/deploy-job`]);
  });

  test('a token whose subject the trust policy does not name: STS refuses, and the command never starts', async () => {
    const run = await execChild(store, [], [], withoutKeys(webIdentity('repo:acme/other:ref:refs/heads/main')));

    expect(run.code).toBe(78);
    expect(run.childRan).toBe(false);
    expect(run.stderr).toContain('AssumeRoleWithWebIdentity');
  });
});

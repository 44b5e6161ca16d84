import { describe, expect, it } from 'vitest';
import { denialMessage, evaluate, type AuthorizationRequest } from '../../local/authorize.ts';

const role = 'arn:aws:iam::000000000000:role/api-task';
const principal = 'arn:aws:sts::000000000000:assumed-role/api-task/session';
const key = 'arn:aws:kms:us-east-1:000000000000:key/0b5c4c1e-0000-4000-8000-000000000001';

/** The task role of service `api` (DESIGN.md D6): its own prefix, its own encryption context. */
const taskPolicy = {
  name: 'api-task',
  policy: {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::secrets', Condition: { StringLike: { 's3:prefix': ['api/*'] } } },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::secrets/api/*' },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key, Condition: { StringEquals: { 'kms:EncryptionContext:service': 'api', 'kms:EncryptionContext:env': 'staging' } } },
      { Effect: 'Deny', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ],
  },
};
const denyEncrypt = { name: 'no-encrypt', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' }, { Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } };

const cases: [name: string, request: Pick<AuthorizationRequest, 'action' | 'resource' | 'context'>, allowed: boolean][] = [
  ['GetObject in its own prefix', { action: 's3:GetObject', resource: 'arn:aws:s3:::secrets/api/password' }, true],
  ['GetObject in another service\'s prefix', { action: 's3:GetObject', resource: 'arn:aws:s3:::secrets/web/password' }, false],
  ['ListBucket with its own prefix', { action: 's3:ListBucket', resource: 'arn:aws:s3:::secrets', context: { 's3:prefix': 'api/' } }, true],
  ['ListBucket with another prefix', { action: 's3:ListBucket', resource: 'arn:aws:s3:::secrets', context: { 's3:prefix': 'web/' } }, false],
  ['Decrypt with its own encryption context', { action: 'kms:Decrypt', resource: key, context: { 'kms:EncryptionContext:service': 'api', 'kms:EncryptionContext:env': 'staging' } }, true],
  ['Decrypt with another service\'s context', { action: 'kms:Decrypt', resource: key, context: { 'kms:EncryptionContext:service': 'web', 'kms:EncryptionContext:env': 'staging' } }, false],
  ['Decrypt without an encryption context', { action: 'kms:Decrypt', resource: key }, false],
  ['Encrypt, which no statement allows', { action: 'kms:Encrypt', resource: key, context: { 'kms:EncryptionContext:service': 'api' } }, false],
  ['PutObject, which no statement allows', { action: 's3:PutObject', resource: 'arn:aws:s3:::secrets/api/password' }, false],
];

describe('evaluate: identity policies of an assumed role', () => {
  it.each(cases)('%s', (_name, request, allowed) => {
    const decision = evaluate({ principal, roleArn: role, region: 'us-east-1', identityPolicies: [taskPolicy], ...request });
    expect(decision.allowed).toBe(allowed);
  });

  it('treats requests as TLS, so a deny on aws:SecureTransport=false does not apply', () => {
    const decision = evaluate({ principal, roleArn: role, region: 'us-east-1', identityPolicies: [taskPolicy], action: 'kms:Decrypt', resource: key, context: { 'kms:EncryptionContext:service': 'api', 'kms:EncryptionContext:env': 'staging' } });
    expect(decision.allowed).toBe(true);
  });

  it('lets an explicit deny win over an allow, and says so', () => {
    const decision = evaluate({ principal, roleArn: role, region: 'us-east-1', identityPolicies: [denyEncrypt], action: 'kms:Encrypt', resource: key });
    expect(decision).toEqual({ allowed: false, reason: 'with an explicit deny in an identity-based policy' });
  });

  it('denies everything to a role without policies', () => {
    expect(evaluate({ principal, roleArn: role, region: 'us-east-1', identityPolicies: [], action: 's3:GetObject', resource: 'arn:aws:s3:::secrets/api/x' }).allowed).toBe(false);
  });
});

describe('denialMessage', () => {
  it('names the principal, the action and the resource as AWS does', () => {
    expect(denialMessage({ principal, action: 'kms:Decrypt', resource: key }, 'because no identity-based policy allows the kms:Decrypt action'))
      .toBe(`User: ${principal} is not authorized to perform: kms:Decrypt on resource: ${key} because no identity-based policy allows the kms:Decrypt action`);
  });
});

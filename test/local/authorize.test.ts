import { describe, expect, it } from 'vitest';
import { ADMIN_POLICIES, denialMessage, evaluate, type AuthorizationRequest } from '../../local/authorize.ts';
import { defaultKeyPolicy } from '../../local/kms.ts';

const role = 'arn:aws:iam::000000000000:role/api-task';
const principal = 'arn:aws:sts::000000000000:assumed-role/api-task/session';
const root = 'arn:aws:iam::000000000000:root';
const key = 'arn:aws:kms:us-east-1:000000000000:key/0b5c4c1e-0000-4000-8000-000000000001';
const apiContext = { 'kms:EncryptionContext:service': 'api', 'kms:EncryptionContext:env': 'staging' };
const document = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

/** The task role of service `api`: its own prefix, its own encryption context. */
const taskPolicy = {
  name: 'api-task',
  policy: {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::secrets', Condition: { StringLike: { 's3:prefix': ['api/*'] } } },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::secrets/api/*' },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key, Condition: { StringEquals: apiContext } },
      { Effect: 'Deny', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ],
  },
};
const denyEncrypt = { name: 'no-encrypt', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' }, { Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } };
const asTaskRole = { principal, principalArn: role, region: 'us-east-1', identityPolicies: [taskPolicy] };

const cases: [name: string, request: Pick<AuthorizationRequest, 'action' | 'resource' | 'context' | 'resourcePolicy'>, allowed: boolean][] = [
  ['GetObject in its own prefix', { action: 's3:GetObject', resource: 'arn:aws:s3:::secrets/api/password' }, true],
  ['GetObject in another service\'s prefix', { action: 's3:GetObject', resource: 'arn:aws:s3:::secrets/web/password' }, false],
  ['ListBucket with its own prefix', { action: 's3:ListBucket', resource: 'arn:aws:s3:::secrets', context: { 's3:prefix': 'api/' } }, true],
  ['ListBucket with another prefix', { action: 's3:ListBucket', resource: 'arn:aws:s3:::secrets', context: { 's3:prefix': 'web/' } }, false],
  ['Decrypt with its own context, under the default key policy', { action: 'kms:Decrypt', resource: key, context: apiContext, resourcePolicy: defaultKeyPolicy() }, true],
  ['Decrypt with another service\'s context', { action: 'kms:Decrypt', resource: key, context: { ...apiContext, 'kms:EncryptionContext:service': 'web' }, resourcePolicy: defaultKeyPolicy() }, false],
  ['Decrypt without an encryption context', { action: 'kms:Decrypt', resource: key, resourcePolicy: defaultKeyPolicy() }, false],
  ['Encrypt, which no statement allows', { action: 'kms:Encrypt', resource: key, context: apiContext, resourcePolicy: defaultKeyPolicy() }, false],
  ['PutObject, which no statement allows', { action: 's3:PutObject', resource: 'arn:aws:s3:::secrets/api/password' }, false],
];

describe('evaluate: the identity policies of an assumed role', () => {
  it.each(cases)('%s', (_name, request, allowed) => {
    expect(evaluate({ ...asTaskRole, ...request }).allowed).toBe(allowed);
  });

  it('treats requests as TLS, so a deny on aws:SecureTransport=false does not apply', () => {
    expect(evaluate({ ...asTaskRole, action: 's3:GetObject', resource: 'arn:aws:s3:::secrets/api/x' }).allowed).toBe(true);
  });

  it('lets an explicit deny win over an allow, and says so', () => {
    const decision = evaluate({ ...asTaskRole, identityPolicies: [denyEncrypt], action: 'kms:Encrypt', resource: key, resourcePolicy: defaultKeyPolicy() });
    expect(decision).toEqual({ allowed: false, reason: 'with an explicit deny in an identity-based policy' });
  });

  it('denies everything to a role without policies', () => {
    expect(evaluate({ ...asTaskRole, identityPolicies: [], action: 's3:GetObject', resource: 'arn:aws:s3:::secrets/api/x' }).allowed).toBe(false);
  });
});

describe('evaluate: a key policy decides whether IAM counts at all', () => {
  const keyPolicy = document([
    { Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:DescribeKey', Resource: '*' },
    { Effect: 'Allow', Principal: { AWS: role }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: apiContext } },
  ]);
  const anyDecrypt = { name: 'power-user', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } };
  const powerUser = { principal: 'arn:aws:sts::000000000000:assumed-role/power/s', principalArn: 'arn:aws:iam::000000000000:role/power', region: 'us-east-1' };

  it('an IAM allow of kms:Decrypt on * decrypts nothing when the key policy does not delegate Decrypt to the account', () => {
    const decision = evaluate({ ...powerUser, identityPolicies: [anyDecrypt], action: 'kms:Decrypt', resource: key, context: apiContext, resourcePolicy: keyPolicy });
    expect(decision).toEqual({ allowed: false, reason: 'because no resource-based policy allows the kms:Decrypt action' });
  });

  it('an action the key policy delegates to the account is decided by IAM', () => {
    expect(evaluate({ ...powerUser, identityPolicies: [anyDecrypt], action: 'kms:DescribeKey', resource: key, resourcePolicy: keyPolicy }).allowed).toBe(true);
    expect(evaluate({ ...powerUser, identityPolicies: [], action: 'kms:DescribeKey', resource: key, resourcePolicy: keyPolicy }).allowed).toBe(false);
  });

  it('a role the key policy names decrypts with no IAM policy of its own, in its own context only', () => {
    expect(evaluate({ ...asTaskRole, identityPolicies: [], action: 'kms:Decrypt', resource: key, context: apiContext, resourcePolicy: keyPolicy }).allowed).toBe(true);
    const web = { ...apiContext, 'kms:EncryptionContext:service': 'web' };
    expect(evaluate({ ...asTaskRole, identityPolicies: [], action: 'kms:Decrypt', resource: key, context: web, resourcePolicy: keyPolicy }).allowed).toBe(false);
  });

  it('the admin (the account root) is bound by the key policy too', () => {
    const admin = { principal: root, principalArn: root, region: 'us-east-1', identityPolicies: ADMIN_POLICIES };
    expect(evaluate({ ...admin, action: 'kms:DescribeKey', resource: key, resourcePolicy: keyPolicy }).allowed).toBe(true);
    expect(evaluate({ ...admin, action: 'kms:Decrypt', resource: key, context: apiContext, resourcePolicy: keyPolicy }).allowed).toBe(false);
  });
});

describe('evaluate: bucket policies and trust policies', () => {
  const admin = { principal: root, principalArn: root, region: 'us-east-1', identityPolicies: ADMIN_POLICIES };

  it('an explicit deny in a bucket policy binds even the admin, and says where it came from', () => {
    const bucketPolicy = document([{ Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::secrets/*',
      Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } } }]);
    const put = { action: 's3:PutObject', resource: 'arn:aws:s3:::secrets/api/x', resourcePolicy: bucketPolicy };
    expect(evaluate({ ...admin, ...put })).toEqual({ allowed: false, reason: 'with an explicit deny in a resource-based policy' });
    expect(evaluate({ ...admin, ...put, context: { 's3:x-amz-server-side-encryption': 'AES256' } }).allowed).toBe(true);
  });

  it('a role is assumed only by whom its trust policy names', () => {
    const trustEcs = document([{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': '000000000000' } } }]);
    const assume = { action: 'sts:AssumeRole', resource: role, resourcePolicy: trustEcs };
    expect(evaluate({ ...admin, ...assume }).allowed).toBe(false);
    const ecs = { principal: 'ecs-tasks.amazonaws.com', region: 'us-east-1', identityPolicies: [] };
    expect(evaluate({ ...ecs, ...assume, context: { 'aws:SourceAccount': '000000000000' } }).allowed).toBe(true);
    expect(evaluate({ ...ecs, ...assume, context: { 'aws:SourceAccount': '111111111111' } }).allowed).toBe(false);
  });
});

describe('denialMessage', () => {
  it('names the principal, the action and the resource as AWS does', () => {
    expect(denialMessage({ principal, action: 'kms:Decrypt', resource: key }, 'because no identity-based policy allows the kms:Decrypt action'))
      .toBe(`User: ${principal} is not authorized to perform: kms:Decrypt on resource: ${key} because no identity-based policy allows the kms:Decrypt action`);
  });
});

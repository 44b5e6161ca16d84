import {
  AttachRolePolicyCommand, CreatePolicyCommand, CreatePolicyVersionCommand, CreateRoleCommand, DeletePolicyCommand, DeleteRoleCommand,
  DetachRolePolicyCommand, GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, ListAttachedRolePoliciesCommand,
  ListEntitiesForPolicyCommand, ListRolePoliciesCommand, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { DecryptCommand, EncryptCommand, CreateKeyCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../lib/aws.ts';
import { ecsTaskCredentials, roleWithPolicy, webIdentityToken } from '../support/roles.ts';
import { startEndpoint, type TestEndpoint } from './support.ts';

const trustEcsTasks = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
const trustAdmin = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' }] });
const apiContext = { env: 'staging', service: 'api', secret: 'password' };

let local: TestEndpoint;
let admin: AwsClients;
let iam: IAMClient;

beforeAll(async () => {
  local = await startEndpoint();
  admin = local.clients();
  iam = local.iam();
});
afterAll(() => local.close());

describe('the default credentials', () => {
  it('are the account root, allowed everything', async () => {
    const identity = await (await admin.sts()).send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({ Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root' });
  });
});

describe('IAM as the Terraform provider uses it', () => {
  it('returns policy documents URL-encoded, as IAM does', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'encoded', AssumeRolePolicyDocument: trustEcsTasks }));
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: 'encoded' }));
    expect(decodeURIComponent(Role!.AssumeRolePolicyDocument!)).toBe(trustEcsTasks);
    await iam.send(new PutRolePolicyCommand({ RoleName: 'encoded', PolicyName: 'inline', PolicyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}' }));
    const inline = await iam.send(new GetRolePolicyCommand({ RoleName: 'encoded', PolicyName: 'inline' }));
    expect(JSON.parse(decodeURIComponent(inline.PolicyDocument!)).Statement[0].Action).toBe('s3:GetObject');
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'encoded' }))).PolicyNames).toEqual(['inline']);
  });

  it('refuses a malformed policy document: MalformedPolicyDocument', async () => {
    await expect(iam.send(new CreateRoleCommand({ RoleName: 'malformed', AssumeRolePolicyDocument: '{"Statement": "nope"}' })))
      .rejects.toMatchObject({ name: 'MalformedPolicyDocumentException' });
  });

  it('keeps managed policy versions and attachments, and refuses to delete what is still attached', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'attached', AssumeRolePolicyDocument: trustEcsTasks }));
    const document = (action: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });
    const { Policy } = await iam.send(new CreatePolicyCommand({ PolicyName: 'managed', PolicyDocument: document('kms:Decrypt') }));
    expect(Policy).toMatchObject({ Arn: 'arn:aws:iam::000000000000:policy/managed', DefaultVersionId: 'v1' });
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: Policy!.Arn, PolicyDocument: document('kms:Encrypt'), SetAsDefault: true }));
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: Policy!.Arn, VersionId: 'v2' }));
    expect(version.PolicyVersion).toMatchObject({ IsDefaultVersion: true });
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'attached', PolicyArn: Policy!.Arn }));
    expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'attached' }))).AttachedPolicies).toEqual([{ PolicyName: 'managed', PolicyArn: Policy!.Arn }]);
    expect((await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: Policy!.Arn }))).PolicyRoles!.map((r) => r.RoleName)).toEqual(['attached']);
    await expect(iam.send(new DeleteRoleCommand({ RoleName: 'attached' }))).rejects.toMatchObject({ name: 'DeleteConflictException' });
    await expect(iam.send(new DeletePolicyCommand({ PolicyArn: Policy!.Arn }))).rejects.toMatchObject({ name: 'DeleteConflictException' });
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'attached', PolicyArn: Policy!.Arn }));
    await iam.send(new DeleteRoleCommand({ RoleName: 'attached' }));
    await expect(iam.send(new GetRoleCommand({ RoleName: 'attached' }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });
});

describe('IAM names are one name whatever their case', () => {
  const document = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });

  it('a role name is taken in any case: EntityAlreadyExists (409)', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'CaseRole', AssumeRolePolicyDocument: trustAdmin }));
    await expect(iam.send(new CreateRoleCommand({ RoleName: 'caserole', AssumeRolePolicyDocument: trustAdmin })))
      .rejects.toMatchObject({ name: 'EntityAlreadyExistsException', $metadata: { httpStatusCode: 409 } });
  });

  it('a managed policy name is taken in any case, and on any path: EntityAlreadyExists', async () => {
    await iam.send(new CreatePolicyCommand({ PolicyName: 'CasePolicy', PolicyDocument: document }));
    await expect(iam.send(new CreatePolicyCommand({ PolicyName: 'casepolicy', PolicyDocument: document }))).rejects.toMatchObject({ name: 'EntityAlreadyExistsException' });
    await expect(iam.send(new CreatePolicyCommand({ PolicyName: 'CASEPOLICY', Path: '/team/', PolicyDocument: document }))).rejects.toMatchObject({ name: 'EntityAlreadyExistsException' });
  });

  it('a RoleName finds the role in any case, which answers with the name it was created with', async () => {
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: 'CASEROLE' }));
    expect(Role).toMatchObject({ RoleName: 'CaseRole', Arn: 'arn:aws:iam::000000000000:role/CaseRole' });
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'caseROLE', PolicyArn: 'arn:aws:iam::000000000000:policy/CasePolicy' }));
    const { AttachedPolicies } = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'CaseRole' }));
    expect(AttachedPolicies!.map((p) => p.PolicyName)).toEqual(['CasePolicy']);
  });

  it('an ARN is matched exactly: another case names no policy, and no role to assume', async () => {
    await expect(iam.send(new GetPolicyCommand({ PolicyArn: 'arn:aws:iam::000000000000:policy/casepolicy' }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    await expect((await admin.sts()).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/caserole', RoleSessionName: 'case' })))
      .rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('credentials from AssumeRole', () => {
  let role: AwsClients;
  let roleSession: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  let keyArn: string;
  let apiCiphertext: Uint8Array;
  let webCiphertext: Uint8Array;

  beforeAll(async () => {
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: 'api-task', AssumeRolePolicyDocument: trustAdmin }));
    await iam.send(new PutRolePolicyCommand({
      RoleName: 'api-task',
      PolicyName: 'read-api-objects',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::secrets-bucket/api/*' },
          { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::secrets-bucket', Condition: { StringLike: { 's3:prefix': ['api/*'] } } },
        ],
      }),
    }));
    const { KeyMetadata } = await admin.kms.send(new CreateKeyCommand({}));
    keyArn = KeyMetadata!.Arn!;
    const { Policy } = await iam.send(new CreatePolicyCommand({
      PolicyName: 'decrypt-api',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn, Condition: { StringEquals: { 'kms:EncryptionContext:service': 'api' } } }],
      }),
    }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'api-task', PolicyArn: Policy!.Arn }));

    await admin.s3.send(new CreateBucketCommand({ Bucket: 'secrets-bucket' }));
    for (const key of ['api/password', 'web/password']) await admin.s3.send(new PutObjectCommand({ Bucket: 'secrets-bucket', Key: key, Body: key }));
    apiCiphertext = (await admin.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('api secret'), EncryptionContext: apiContext }))).CiphertextBlob!;
    webCiphertext = (await admin.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('web secret'), EncryptionContext: { ...apiContext, service: 'web' } }))).CiphertextBlob!;

    const { Credentials } = await (await admin.sts()).send(new AssumeRoleCommand({ RoleArn: Role!.Arn, RoleSessionName: 'test-session' }));
    roleSession = { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! };
    role = local.clients(roleSession);
  });

  it('identify as the assumed role', async () => {
    const identity = await (await role.sts()).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe('arn:aws:sts::000000000000:assumed-role/api-task/test-session');
  });

  it('may decrypt with the encryption context their policy allows', async () => {
    const { Plaintext } = await role.kms.send(new DecryptCommand({ CiphertextBlob: apiCiphertext, EncryptionContext: apiContext }));
    expect(Buffer.from(Plaintext!).toString()).toBe('api secret');
  });

  it('get AccessDeniedException naming the action and key for another service\'s context', async () => {
    await expect(role.kms.send(new DecryptCommand({ CiphertextBlob: webCiphertext, EncryptionContext: { ...apiContext, service: 'web' } }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: `User: arn:aws:sts::000000000000:assumed-role/api-task/test-session is not authorized to perform: kms:Decrypt on resource: ${keyArn} because no identity-based policy allows the kms:Decrypt action`,
    });
  });

  it('may not encrypt, which no policy allows', async () => {
    await expect(role.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x'), EncryptionContext: apiContext }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('read and list their own prefix but get S3 AccessDenied (403) elsewhere', async () => {
    const own = await role.s3.send(new GetObjectCommand({ Bucket: 'secrets-bucket', Key: 'api/password' }));
    expect(await own.Body!.transformToString()).toBe('api/password');
    expect((await role.s3.send(new ListObjectsV2Command({ Bucket: 'secrets-bucket', Prefix: 'api/' }))).KeyCount).toBe(1);
    await expect(role.s3.send(new GetObjectCommand({ Bucket: 'secrets-bucket', Key: 'web/password' }))).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
      message: expect.stringContaining('s3:GetObject on resource: arn:aws:s3:::secrets-bucket/web/password'),
    });
    await expect(role.s3.send(new ListObjectsV2Command({ Bucket: 'secrets-bucket', Prefix: 'web/' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('may not manage IAM: AccessDenied', async () => {
    const roleIam = new IAMClient({ endpoint: local.endpoint.url, region: 'us-east-1', credentials: roleSession });
    await expect(roleIam.send(new CreateRoleCommand({ RoleName: 'escalate', AssumeRolePolicyDocument: trustEcsTasks }))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });

  it('are rejected with a session token that is not theirs: InvalidClientTokenId', async () => {
    const forged = local.clients({ ...roleSession, sessionToken: 'forged' });
    await expect((await forged.sts()).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
  });
});

describe('who may assume a role: its trust policy', () => {
  const ownAccountOnly = JSON.stringify({ Version: '2012-10-17', Statement: [{
    Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole',
    Condition: { StringEquals: { 'aws:SourceAccount': '000000000000' }, ArnLike: { 'aws:SourceArn': 'arn:aws:ecs:us-east-1:000000000000:task/production/*' } },
  }] });

  beforeAll(async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'ecs-only', AssumeRolePolicyDocument: ownAccountOnly }));
  });

  it('refuses the admin a role that trusts only ECS tasks', async () => {
    await expect((await admin.sts()).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/ecs-only', RoleSessionName: 'admin' })))
      .rejects.toMatchObject({ name: 'AccessDenied', message: expect.stringContaining('because no resource-based policy allows the sts:AssumeRole action') });
  });

  it('hands an ECS task of the trusted account and cluster the role\'s credentials, as the container credentials endpoint does', async () => {
    const credentials = await ecsTaskCredentials(local.endpoint.url, 'ecs-only', { cluster: 'production' });
    const identity = await (await local.clients(credentials).sts()).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toMatch(/^arn:aws:sts::000000000000:assumed-role\/ecs-only\/ecs-task-/);
  });

  it('refuses ECS for a task of another account (the confused deputy) or of another cluster', async () => {
    await expect(ecsTaskCredentials(local.endpoint.url, 'ecs-only', { cluster: 'production', account: '111111111111' })).rejects.toThrow(/not authorized to perform: sts:AssumeRole/);
    await expect(ecsTaskCredentials(local.endpoint.url, 'ecs-only', { cluster: 'staging' })).rejects.toThrow(/not authorized to perform: sts:AssumeRole/);
  });

  it('refuses ECS a role that trusts only the account', async () => {
    await expect(ecsTaskCredentials(local.endpoint.url, 'api-task')).rejects.toThrow(/ecs-tasks\.amazonaws\.com is not authorized to perform: sts:AssumeRole/);
  });
});

describe('who may assume a role with a web identity: the provider, audience and subject its trust policy names', () => {
  const issuer = 'token.actions.githubusercontent.com';
  const claims = { iss: `https://${issuer}`, sub: 'repo:acme/api:ref:refs/heads/main', aud: 'sts.amazonaws.com' };
  const roleArn = 'arn:aws:iam::000000000000:role/oidc-deploy';
  const exchange = async (token: string) => (await admin.sts()).send(new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: 'ci-job', WebIdentityToken: token }));

  beforeAll(async () => {
    await iam.send(new CreateRoleCommand({
      RoleName: 'oidc-deploy',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{
          Effect: 'Allow', Principal: { Federated: `arn:aws:iam::000000000000:oidc-provider/${issuer}` }, Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { [`${issuer}:aud`]: 'sts.amazonaws.com' }, StringLike: { [`${issuer}:sub`]: 'repo:acme/api:*' } },
        }],
      }),
    }));
  });

  it('a token of the trusted provider, audience and repository gets the role\'s credentials', async () => {
    const answer = await exchange(webIdentityToken(claims));
    expect(answer.AssumedRoleUser?.Arn).toBe('arn:aws:sts::000000000000:assumed-role/oidc-deploy/ci-job');
    expect(answer.SubjectFromWebIdentityToken).toBe(claims.sub);
  });

  it.each([
    ['another repository', { ...claims, sub: 'repo:evil/api:ref:refs/heads/main' }],
    ['another audience', { ...claims, aud: 'https://evil.example' }],
    ['another issuer with the same subject (an attacker\'s own OIDC provider)', { ...claims, iss: 'https://oidc.evil.example' }],
  ])('refuses a token of %s: AccessDenied', async (_case, forged) => {
    await expect(exchange(webIdentityToken(forged))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });

  it('refuses an expired token, and one that is not a JWT', async () => {
    const expired = [webIdentityToken(claims).split('.')[0], Buffer.from(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 })).toString('base64url'), 'sig'].join('.');
    await expect(exchange(expired)).rejects.toMatchObject({ name: 'ExpiredTokenException' });
    await expect(exchange('not-a-token')).rejects.toMatchObject({ name: 'InvalidIdentityTokenException' });
  });

  describe('the claims STS checks itself', () => {
    const now = Math.floor(Date.now() / 1000);
    /** A token with exactly these claims (webIdentityToken adds iat and exp). */
    const tokenWith = (payload: object) => ['{"alg":"RS256"}', JSON.stringify(payload), 'unsigned'].map((part) => Buffer.from(part).toString('base64url')).join('.');

    it('refuses a token without an expiry: InvalidIdentityToken "Missing a required claim: exp"', async () => {
      await expect(exchange(tokenWith(claims))).rejects.toMatchObject({ name: 'InvalidIdentityTokenException', message: 'Missing a required claim: exp' });
    });

    it('refuses a token whose nbf is still to come: InvalidIdentityToken', async () => {
      await expect(exchange(tokenWith({ ...claims, nbf: now + 600, exp: now + 1200 }))).rejects.toMatchObject({ name: 'InvalidIdentityTokenException' });
      await expect(exchange(tokenWith({ ...claims, nbf: now - 60, exp: now + 600 }))).resolves.toMatchObject({ Audience: claims.aud });
    });

    it('matches a token with several audiences by its authorized party (azp), not by the first audience', async () => {
      const several = { ...claims, aud: ['https://other.example', claims.aud], exp: now + 600 };
      const answer = await exchange(tokenWith({ ...several, azp: claims.aud }));
      expect(answer.Audience).toBe(claims.aud);
      await expect(exchange(tokenWith({ ...several, aud: [claims.aud, 'https://other.example'], azp: 'https://other.example' })))
        .rejects.toMatchObject({ name: 'AccessDenied' });
    });

    it('refuses a token with several audiences and no azp: InvalidIdentityToken "Incorrect token audience"', async () => {
      await expect(exchange(tokenWith({ ...claims, aud: [claims.aud, 'https://other.example'], exp: now + 600 })))
        .rejects.toMatchObject({ name: 'InvalidIdentityTokenException', message: 'Incorrect token audience' });
    });
  });
});

describe('NotPrincipal in a Deny exempts only the principals it names', () => {
  const bucket = 'not-principal';
  const role = 'arn:aws:iam::000000000000:role/np-reader';
  const session = 'arn:aws:sts::000000000000:assumed-role/np-reader/test';
  const root = 'arn:aws:iam::000000000000:root';
  const denyAllBut = (...principals: string[]) => JSON.stringify({ Version: '2012-10-17', Statement: [
    { Effect: 'Deny', NotPrincipal: { AWS: principals }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` },
  ] });
  let reader: AwsClients;

  beforeAll(async () => {
    await admin.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }));
    reader = local.clients(await roleWithPolicy(local.endpoint.url, 'np-reader', [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }]));
  });

  it('the role\'s ARN (with the account\'s) does not exempt the role\'s sessions: S3 AccessDenied', async () => {
    await admin.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: denyAllBut(role, root) }));
    await expect(reader.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))).rejects.toMatchObject({
      name: 'AccessDenied', message: expect.stringContaining('with an explicit deny in a resource-based policy'),
    });
    await expect(admin.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))).resolves.toBeDefined();
  });

  it('the account alone exempts the root user, not the account\'s sessions', async () => {
    await admin.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: denyAllBut('000000000000') }));
    await expect(admin.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))).resolves.toBeDefined();
    await expect(reader.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('the session\'s ARN exempts that session', async () => {
    await admin.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: denyAllBut(session, role, root) }));
    const { Body } = await reader.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
    expect(await Body!.transformToString()).toBe('v');
  });
});

describe('a wildcard inside a principal is refused where AWS stores the policy', () => {
  const naming = (principal: unknown, action: string, resource?: string) => JSON.stringify({ Version: '2012-10-17', Statement: [
    { Effect: 'Allow', Principal: principal, Action: action, ...(resource ? { Resource: resource } : {}) },
  ] });
  const anyRole = { AWS: 'arn:aws:iam::000000000000:role/*' };

  it('in a trust policy: MalformedPolicyDocument "Invalid principal in policy", on CreateRole and UpdateAssumeRolePolicy', async () => {
    const invalid = { name: 'MalformedPolicyDocumentException', message: 'Invalid principal in policy: "AWS":"arn:aws:iam::000000000000:role/*"' };
    await expect(iam.send(new CreateRoleCommand({ RoleName: 'wildcard-trust', AssumeRolePolicyDocument: naming(anyRole, 'sts:AssumeRole') }))).rejects.toMatchObject(invalid);
    await iam.send(new CreateRoleCommand({ RoleName: 'wildcard-trust', AssumeRolePolicyDocument: trustAdmin }));
    await expect(iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'wildcard-trust', PolicyDocument: naming(anyRole, 'sts:AssumeRole') }))).rejects.toMatchObject(invalid);
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'wildcard-trust', PolicyDocument: naming({ AWS: '*' }, 'sts:AssumeRole') }));
  });

  it('in a bucket policy: MalformedPolicy "Invalid principal in policy"', async () => {
    await admin.s3.send(new CreateBucketCommand({ Bucket: 'wildcard-principal' }));
    const put = (principal: unknown) => admin.s3.send(new PutBucketPolicyCommand({ Bucket: 'wildcard-principal', Policy: naming(principal, 's3:GetObject', 'arn:aws:s3:::wildcard-principal/*') }));
    await expect(put(anyRole)).rejects.toMatchObject({ name: 'MalformedPolicy', message: 'Invalid principal in policy', $metadata: { httpStatusCode: 400 } });
    await expect(put({ AWS: ['arn:aws:iam::000000000000:root', 'arn:aws:iam::*:root'] })).rejects.toMatchObject({ name: 'MalformedPolicy' });
    await put({ AWS: '*' });
    await put('*');
  });

  it('in a key policy: MalformedPolicyDocumentException, on CreateKey and PutKeyPolicy', async () => {
    const invalid = { name: 'MalformedPolicyDocumentException', message: 'Policy contains a statement with one or more invalid principals.' };
    await expect(admin.kms.send(new CreateKeyCommand({ Policy: naming(anyRole, 'kms:*', '*') }))).rejects.toMatchObject(invalid);
    const { KeyMetadata } = await admin.kms.send(new CreateKeyCommand({}));
    await expect(admin.kms.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId, PolicyName: 'default', Policy: naming(anyRole, 'kms:*', '*') }))).rejects.toMatchObject(invalid);
  });
});

describe('resource policies bind the admin too', () => {
  it('a key policy that does not let the account decrypt stops the admin: AccessDeniedException', async () => {
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [
      { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: ['kms:Encrypt', 'kms:DescribeKey', 'kms:PutKeyPolicy'], Resource: '*' },
    ] });
    const { KeyMetadata } = await admin.kms.send(new CreateKeyCommand({ Policy: policy }));
    const { CiphertextBlob } = await admin.kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: apiContext }));
    await expect(admin.kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: apiContext }))).rejects.toMatchObject({
      name: 'AccessDeniedException', message: expect.stringContaining('because no resource-based policy allows the kms:Decrypt action'),
    });
  });

  it('a bucket policy\'s explicit deny stops the admin: S3 AccessDenied', async () => {
    await admin.s3.send(new CreateBucketCommand({ Bucket: 'sse-only' }));
    await admin.s3.send(new PutBucketPolicyCommand({ Bucket: 'sse-only', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{
      Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::sse-only/*',
      Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } },
    }] }) }));
    await expect(admin.s3.send(new PutObjectCommand({ Bucket: 'sse-only', Key: 'plain', Body: 'x' }))).rejects.toMatchObject({
      name: 'AccessDenied', message: expect.stringContaining('with an explicit deny in a resource-based policy'),
    });
    await admin.s3.send(new PutObjectCommand({ Bucket: 'sse-only', Key: 'encrypted', Body: 'x', ServerSideEncryption: 'AES256' }));
  });
});

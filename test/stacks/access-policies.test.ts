/**
 * Who may do what, simulated over the synthesized policies exactly as they deploy: each principal's identity
 * policies together with the key policy, the bucket policy or the role's trust policy. The same promises
 * are tried with real requests after a real deploy in test/terraform/escalation.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ACCOUNT, contextOf, decide, environmentPolicies, KEY_ARN, outsider, roleArn } from '../support/policies.ts';
import { KEY_ADMINISTRATOR, secretFile, synthEnvironment } from '../support/synth.ts';

const BUCKET = 'arn:aws:s3:::kms-secrets-staging-secrets';
const STATE = 'arn:aws:s3:::acme-tfstate/kms-secrets/staging.tfstate';
const synthesized = synthEnvironment({
  files: [secretFile('staging', 'api', 'db-password'), secretFile('staging', 'web', 'session-key')],
  settings: { defaults: {
    backend: { type: 's3', bucket: 'acme-tfstate', keyPrefix: 'kms-secrets' },
    breakGlassPrincipals: [roleArn('break-glass')],
  } },
});
const policies = environmentPolicies(synthesized);
const api = { env: 'staging', service: 'api', secret: 'db-password' };
const web = { ...api, service: 'web', secret: 'session-key' };
const sse = { 's3:x-amz-server-side-encryption': 'AES256' };
const iam = (kind: 'role' | 'policy', name: string) => `arn:aws:iam::${ACCOUNT}:${kind}/${name}`;
const ALIAS = `arn:aws:kms:us-east-1:${ACCOUNT}:alias/kms-secrets/staging`;

/** PowerUserAccess in spirit: every KMS and S3 action on everything, from an IAM policy elsewhere in the account. */
const powerUser = outsider('power-user', [{ Effect: 'Allow', Action: ['kms:*', 's3:*'], Resource: '*' }]);
/** The named key administrator, with an administrator's IAM policy. */
const administrator = { arn: KEY_ADMINISTRATOR, policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }] };
/** The account's root user: no IAM policy applies to it, so it is given everything. */
const rootUser = { arn: `arn:aws:iam::${ACCOUNT}:root`, policies: administrator.policies };
const breakGlass = outsider('break-glass', []);

describe('who may do what, simulated over the synthesized identity, key, bucket and trust policies', () => {
  it.each([
    // principal, action, resource, context, decision
    ['task-api', 's3:GetObject', `${BUCKET}/api/db-password`, {}, 'Allowed'],
    ['task-api', 's3:GetObject', `${BUCKET}/web/session-key`, {}, 'ImplicitlyDenied'],
    ['task-api', 's3:ListBucket', BUCKET, { 's3:prefix': 'api/' }, 'Allowed'],
    ['task-api', 's3:ListBucket', BUCKET, { 's3:prefix': 'web/' }, 'ImplicitlyDenied'],
    ['task-api', 's3:ListBucket', BUCKET, {}, 'ImplicitlyDenied'],
    ['task-api', 's3:PutObject', `${BUCKET}/api/db-password`, sse, 'ImplicitlyDenied'],
    ['task-api', 'kms:Decrypt', KEY_ARN, contextOf(api), 'Allowed'],
    ['task-api', 'kms:Decrypt', KEY_ARN, contextOf({ ...api, secret: 'node-options' }), 'ImplicitlyDenied'],
    ['task-api', 'kms:Decrypt', KEY_ARN, contextOf({ ...api, secret: 'aws-config-file' }), 'ImplicitlyDenied'],
    ['task-api', 's3:GetObject', `${BUCKET}/.declared/api.json`, {}, 'Allowed'],
    ['task-api', 's3:GetObject', `${BUCKET}/.declared/web.json`, {}, 'ImplicitlyDenied'],
    ['task-api', 'kms:Decrypt', KEY_ARN, contextOf(web), 'ImplicitlyDenied'],
    ['task-api', 'kms:Decrypt', KEY_ARN, contextOf({ ...api, env: 'production' }), 'ImplicitlyDenied'],
    ['task-api', 'kms:Decrypt', KEY_ARN, {}, 'ExplicitlyDenied'],
    ['task-api', 'kms:Encrypt', KEY_ARN, contextOf(api), 'ImplicitlyDenied'],
    ['task-api', 'kms:ReEncryptFrom', KEY_ARN, contextOf(api), 'ImplicitlyDenied'],
    ['task-web', 'kms:Decrypt', KEY_ARN, contextOf(web), 'Allowed'],
    ['task-web', 's3:GetObject', `${BUCKET}/api/db-password`, {}, 'ImplicitlyDenied'],
    ['ci-plan', 'kms:Decrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['ci-plan', 'kms:Encrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['ci-plan', 'kms:GenerateDataKey', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['ci-plan', 'kms:ReEncryptFrom', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['ci-plan', 'kms:PutKeyPolicy', KEY_ARN, {}, 'ExplicitlyDenied'],
    ['ci-plan', 's3:PutObject', `${BUCKET}/api/db-password`, sse, 'ExplicitlyDenied'],
    ['ci-plan', 's3:DeleteObject', `${BUCKET}/api/db-password`, {}, 'ExplicitlyDenied'],
    ['ci-plan', 'kms:DescribeKey', KEY_ARN, {}, 'Allowed'],
    ['ci-plan', 'kms:GetKeyPolicy', KEY_ARN, {}, 'Allowed'],
    ['ci-plan', 's3:GetBucketPolicy', BUCKET, {}, 'Allowed'],
    ['ci-plan', 'iam:GetRole', iam('role', 'kms-secrets-staging.task-api'), {}, 'Allowed'],
    ['ci-plan', 'iam:PutRolePolicy', iam('role', 'kms-secrets-staging.task-api'), {}, 'ExplicitlyDenied'],
    ['ci-plan', 's3:GetObject', STATE, {}, 'Allowed'],
    ['ci-plan', 's3:PutObject', STATE, sse, 'ImplicitlyDenied'],
    ['ci-plan', 's3:PutObject', `${STATE}.tflock`, sse, 'Allowed'],
    ['deployer', 'kms:Decrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['deployer', 'kms:Encrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['deployer', 'kms:GenerateDataKey', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['deployer', 'kms:DescribeKey', KEY_ARN, {}, 'Allowed'],
    ['deployer', 'kms:PutKeyPolicy', KEY_ARN, {}, 'ExplicitlyDenied'],
    ['deployer', 'kms:CreateGrant', KEY_ARN, {}, 'ExplicitlyDenied'],
    ['deployer', 'kms:DisableKeyRotation', KEY_ARN, {}, 'ExplicitlyDenied'],
    ['deployer', 'kms:UpdateAlias', ALIAS, {}, 'ExplicitlyDenied'],
    ['deployer', 'kms:CreateKey', '*', {}, 'ImplicitlyDenied'],
    ['deployer', 's3:PutObject', `${BUCKET}/api/db-password`, sse, 'Allowed'],
    ['deployer', 's3:PutObject', `${BUCKET}/api/node-options`, sse, 'Allowed'],
    ['deployer', 's3:PutObject', `${BUCKET}/billing/token`, sse, 'ExplicitlyDenied'],
    ['deployer', 's3:PutObject', `${BUCKET}/.declared/api.json`, sse, 'ExplicitlyDenied'],
    ['deployer', 's3:DeleteObject', `${BUCKET}/.declared/api.json`, {}, 'ExplicitlyDenied'],
    ['deployer', 's3:PutObject', `${BUCKET}/api/db-password`, {}, 'ExplicitlyDenied'],
    ['deployer', 's3:PutObjectTagging', `${BUCKET}/api/db-password`, {}, 'Allowed'],
    ['deployer', 's3:DeleteObject', `${BUCKET}/api/db-password`, {}, 'Allowed'],
    ['deployer', 's3:PutBucketPolicy', BUCKET, {}, 'ExplicitlyDenied'],
    ['deployer', 's3:PutLifecycleConfiguration', BUCKET, {}, 'ExplicitlyDenied'],
    ['deployer', 'iam:CreateRole', iam('role', 'kms-secrets-staging.backdoor'), {}, 'ExplicitlyDenied'],
    ['deployer', 'iam:CreateRole', iam('role', 'backdoor'), {}, 'ImplicitlyDenied'],
    ['deployer', 'iam:PutRolePolicy', iam('role', 'kms-secrets-staging.task-api'), {}, 'ExplicitlyDenied'],
    ['deployer', 'iam:UpdateAssumeRolePolicy', iam('role', 'kms-secrets-staging.task-api'), {}, 'ExplicitlyDenied'],
    ['deployer', 'iam:CreatePolicyVersion', iam('policy', 'kms-secrets-staging.developer-encrypt'), {}, 'ExplicitlyDenied'],
    ['deployer', 'iam:SetDefaultPolicyVersion', iam('policy', 'kms-secrets-staging.deployer'), {}, 'ExplicitlyDenied'],
    ['deployer', 'iam:PutRolePolicy', iam('role', 'kms-secrets-production.task-api'), {}, 'ImplicitlyDenied'],
    ['deployer', 's3:PutObject', STATE, sse, 'Allowed'],
    ['developer-encrypt', 'kms:Encrypt', KEY_ARN, contextOf(api), 'Allowed'],
    ['developer-encrypt', 'kms:GenerateDataKey', KEY_ARN, contextOf(api), 'Allowed'],
    ['developer-encrypt', 'kms:Encrypt', KEY_ARN, contextOf({ ...api, env: 'production' }), 'ImplicitlyDenied'],
    ['developer-encrypt', 'kms:Encrypt', KEY_ARN, {}, 'ExplicitlyDenied'],
    ['developer-encrypt', 'kms:Decrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['developer-encrypt', 's3:GetObject', `${BUCKET}/api/db-password`, {}, 'ImplicitlyDenied'],
  ] as const)('%s %s on %s %j → %s', async (principal, action, resource, context, expected) => {
    expect(await decide(policies, principal, action, resource, context)).toBe(expected);
  });
});

describe('the key policy is the gate for decryption', () => {
  it.each([
    ['an IAM allow of kms:* on * (PowerUserAccess) decrypts nothing', powerUser, 'kms:Decrypt', contextOf(api), 'ExplicitlyDenied'],
    ['…nor moves a ciphertext to a key of its own with ReEncrypt', powerUser, 'kms:ReEncryptFrom', contextOf(api), 'ExplicitlyDenied'],
    ['…but may encrypt for the env, which is write-only: IAM decides who encrypts', powerUser, 'kms:Encrypt', contextOf(api), 'Allowed'],
    ['…but administers nothing: not the key policy', powerUser, 'kms:PutKeyPolicy', {}, 'ExplicitlyDenied'],
    ['…nor the alias', powerUser, 'kms:UpdateAlias', {}, 'ExplicitlyDenied'],
    ['…nor a grant', powerUser, 'kms:CreateGrant', {}, 'ExplicitlyDenied'],
    ['…nor the key\'s deletion', powerUser, 'kms:ScheduleKeyDeletion', {}, 'ExplicitlyDenied'],
    ['a named key administrator administers the key', administrator, 'kms:PutKeyPolicy', {}, 'Allowed'],
    ['…but never decrypts', administrator, 'kms:Decrypt', contextOf(api), 'ExplicitlyDenied'],
    ['the account\'s root user may always recover the key', rootUser, 'kms:PutKeyPolicy', {}, 'Allowed'],
    ['a break-glass principal from the settings decrypts every service of the env', breakGlass, 'kms:Decrypt', contextOf(web), 'Allowed'],
    ['…but not another env\'s ciphertext', breakGlass, 'kms:Decrypt', contextOf({ ...web, env: 'production' }), 'ImplicitlyDenied'],
  ] as const)('%s', async (_name, principal, action, context, expected) => {
    expect(await decide(policies, principal, action, KEY_ARN, context)).toBe(expected);
  });
});

describe('which objects may exist, and who configures the bucket, are allow-lists in the bucket policy too', () => {
  it.each([
    ['a power user puts an object under a declared service', powerUser, `${BUCKET}/api/db-password`, 'Allowed'],
    ['…but not under a service nobody declared', powerUser, `${BUCKET}/billing/token`, 'ExplicitlyDenied'],
    ['…nor at the top of the bucket', powerUser, `${BUCKET}/db-password`, 'ExplicitlyDenied'],
    ['…nor a declared list', powerUser, `${BUCKET}/.declared/api.json`, 'ExplicitlyDenied'],
    ['a named administrator writes a declared list', administrator, `${BUCKET}/.declared/api.json`, 'Allowed'],
  ] as const)('%s', async (_name, principal, resource, expected) => {
    expect(await decide(policies, principal, 's3:PutObject', resource, sse)).toBe(expected);
  });

  it.each([
    ['a power user replaces the bucket policy', powerUser, 's3:PutBucketPolicy', 'ExplicitlyDenied'],
    ['…or deletes it', powerUser, 's3:DeleteBucketPolicy', 'ExplicitlyDenied'],
    ['…or suspends versioning', powerUser, 's3:PutBucketVersioning', 'ExplicitlyDenied'],
    ['a named administrator replaces the bucket policy', administrator, 's3:PutBucketPolicy', 'Allowed'],
    ['the root user does', rootUser, 's3:PutBucketPolicy', 'Allowed'],
  ] as const)('%s', async (_name, principal, action, expected) => {
    expect(await decide(policies, principal, action, BUCKET)).toBe(expected);
  });
});

describe('only ECS tasks of the env\'s own account may assume a task role', () => {
  const taskRole = roleArn('kms-secrets-staging.task-api');

  it.each([
    ['ECS, for a task of this account', 'ecs-tasks.amazonaws.com', { 'aws:SourceAccount': ACCOUNT }, 'Allowed'],
    ['ECS, for a task of another account (the confused deputy)', 'ecs-tasks.amazonaws.com', { 'aws:SourceAccount': '999999999999' }, 'ImplicitlyDenied'],
    ['ECS, without saying for whom', 'ecs-tasks.amazonaws.com', {}, 'ImplicitlyDenied'],
    ['a role of the account with sts:AssumeRole on *', outsider('ci', [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }]), {}, 'ImplicitlyDenied'],
  ] as const)('%s', async (_name, principal, context, expected) => {
    expect(await decide(policies, principal, 'sts:AssumeRole', taskRole, context)).toBe(expected);
  });
});

describe('an app\'s own task role (services.api.taskRole) reads exactly its service; the read policy alone decrypts nothing', () => {
  const own = environmentPolicies(synthEnvironment({
    files: [secretFile('staging', 'api', 'db-password'), secretFile('staging', 'web', 'session-key')],
    settings: { environments: { staging: { services: { api: { taskRole: 'app-api' } } } } },
  }));
  // The role as IAM would see it: its own statements for the app's queues and tables, and the attached read policy.
  const appRole = { arn: roleArn('app-api'), policies: [...own.principals['read-api']!, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] }] };
  // Someone with IAM rights attaches the same managed policy to a role the settings do not name.
  const otherRole = { arn: roleArn('other-app'), policies: own.principals['read-api']! };

  it.each([
    ['the named role decrypts its service', appRole, 'kms:Decrypt', KEY_ARN, contextOf(api), 'Allowed'],
    ['…and reads its objects', appRole, 's3:GetObject', `${BUCKET}/api/db-password`, {}, 'Allowed'],
    ['…but not another service\'s ciphertext', appRole, 'kms:Decrypt', KEY_ARN, contextOf(web), 'ImplicitlyDenied'],
    ['…nor its objects', appRole, 's3:GetObject', `${BUCKET}/web/session-key`, {}, 'ImplicitlyDenied'],
    ['…nor encrypts', appRole, 'kms:Encrypt', KEY_ARN, contextOf(api), 'ImplicitlyDenied'],
    ['a role the settings do not name, with the read policy attached, decrypts nothing', otherRole, 'kms:Decrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
  ] as const)('%s', async (_name, principal, action, resource, context, expected) => {
    expect(await decide(own, principal, action, resource, context)).toBe(expected);
  });
});

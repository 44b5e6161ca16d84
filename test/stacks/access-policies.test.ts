import { describe, expect, it } from 'vitest';
import { ACCOUNT, contextOf, decide, environmentPolicies, KEY_ARN } from '../support/policies.ts';
import { secretFile, synthEnvironment } from '../support/synth.ts';

const BUCKET = 'arn:aws:s3:::kms-secrets-staging-secrets';
const synthesized = synthEnvironment({
  files: [secretFile('staging', 'api', 'db-password'), secretFile('staging', 'web', 'session-key')],
  settings: { defaults: { backend: { type: 's3', bucket: 'acme-tfstate', keyPrefix: 'kms-secrets' } } },
});
const policies = environmentPolicies(synthesized);
const api = { env: 'staging', service: 'api', secret: 'db-password' };

describe('who may do what (DESIGN.md D6), simulated over the synthesized policies', () => {
  it.each([
    // principal, action, resource, context, decision
    ['task-api', 's3:GetObject', `${BUCKET}/api/db-password`, {}, 'Allowed'],
    ['task-api', 's3:GetObject', `${BUCKET}/web/session-key`, {}, 'ImplicitlyDenied'],
    ['task-api', 's3:ListBucket', BUCKET, { 's3:prefix': 'api/' }, 'Allowed'],
    ['task-api', 's3:ListBucket', BUCKET, { 's3:prefix': 'web/' }, 'ImplicitlyDenied'],
    ['task-api', 's3:ListBucket', BUCKET, {}, 'ImplicitlyDenied'],
    ['task-api', 's3:PutObject', `${BUCKET}/api/db-password`, { 's3:x-amz-server-side-encryption': 'AES256' }, 'ImplicitlyDenied'],
    ['task-api', 'kms:Decrypt', KEY_ARN, contextOf(api), 'Allowed'],
    ['task-api', 'kms:Decrypt', KEY_ARN, contextOf({ ...api, service: 'web' }), 'ImplicitlyDenied'],
    ['task-api', 'kms:Decrypt', KEY_ARN, contextOf({ ...api, env: 'production' }), 'ImplicitlyDenied'],
    ['task-api', 'kms:Decrypt', KEY_ARN, {}, 'ExplicitlyDenied'],
    ['task-api', 'kms:Encrypt', KEY_ARN, contextOf(api), 'ImplicitlyDenied'],
    ['task-web', 'kms:Decrypt', KEY_ARN, contextOf({ ...api, service: 'web' }), 'Allowed'],
    ['task-web', 's3:GetObject', `${BUCKET}/api/db-password`, {}, 'ImplicitlyDenied'],
    ['ci-plan', 'kms:Decrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['ci-plan', 'kms:Encrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['ci-plan', 'kms:GenerateDataKey', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['ci-plan', 'kms:ReEncryptFrom', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['ci-plan', 's3:PutObject', `${BUCKET}/api/db-password`, { 's3:x-amz-server-side-encryption': 'AES256' }, 'ExplicitlyDenied'],
    ['ci-plan', 's3:DeleteObject', `${BUCKET}/api/db-password`, {}, 'ExplicitlyDenied'],
    ['ci-plan', 'kms:DescribeKey', KEY_ARN, {}, 'Allowed'],
    ['ci-plan', 's3:GetBucketPolicy', BUCKET, {}, 'Allowed'],
    ['ci-plan', 'iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/kms-secrets-staging-task-api`, {}, 'Allowed'],
    ['ci-plan', 'iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/kms-secrets-staging-task-api`, {}, 'ImplicitlyDenied'],
    ['ci-plan', 's3:GetObject', 'arn:aws:s3:::acme-tfstate/kms-secrets/staging.tfstate', {}, 'Allowed'],
    ['ci-plan', 's3:PutObject', 'arn:aws:s3:::acme-tfstate/kms-secrets/staging.tfstate', {}, 'ImplicitlyDenied'],
    ['ci-plan', 's3:PutObject', 'arn:aws:s3:::acme-tfstate/kms-secrets/staging.tfstate.tflock', {}, 'Allowed'],
    ['deployer', 'kms:Decrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['deployer', 'kms:Encrypt', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['deployer', 'kms:GenerateDataKey', KEY_ARN, contextOf(api), 'ExplicitlyDenied'],
    ['deployer', 'kms:EnableKeyRotation', KEY_ARN, {}, 'Allowed'],
    ['deployer', 'kms:CreateKey', '*', {}, 'Allowed'],
    ['deployer', 's3:PutObject', `${BUCKET}/api/db-password`, { 's3:x-amz-server-side-encryption': 'AES256' }, 'Allowed'],
    ['deployer', 's3:PutObject', `${BUCKET}/api/db-password`, {}, 'ExplicitlyDenied'],
    ['deployer', 's3:PutBucketPolicy', BUCKET, {}, 'Allowed'],
    ['deployer', 'iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/kms-secrets-staging-task-api`, {}, 'Allowed'],
    ['deployer', 'iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/kms-secrets-production-task-api`, {}, 'ImplicitlyDenied'],
    ['deployer', 'iam:CreatePolicyVersion', `arn:aws:iam::${ACCOUNT}:policy/kms-secrets-staging-deployer`, {}, 'ExplicitlyDenied'],
    ['deployer', 'iam:AttachRolePolicy', `arn:aws:iam::${ACCOUNT}:role/kms-secrets-staging-deployer`, {}, 'ExplicitlyDenied'],
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

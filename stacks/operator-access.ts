/**
 * The operators of an environment: the deployer (applies ciphertext changes), CI (plans) and developers
 * (encrypt). Each gets a managed policy; a role is created where the settings say who assumes it.
 *
 * None of them may change the infrastructure: whoever can write IAM or a key policy can grant itself
 * anything, so a new env, a new service's task role, the key or the bucket settings are an administrator's
 * apply (`kms-secrets plan-check` tells the two kinds of plan apart before apply).
 */
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import type { BackendSettings, OperatorRoles, RoleTrust } from '../lib/settings.ts';
import type { SecretsBucket } from './bucket.ts';
import { iamName, iamNamePattern } from './iam-names.ts';
import type { SecretsKey } from './key.ts';
import { policyDocument, type PolicyDocument, type PolicyStatement } from './policy.ts';
import { operatorTrust } from './trust.ts';

export interface OperatorAccessProps {
  readonly env: string;
  readonly partition: string;
  readonly bucket: SecretsBucket;
  readonly key: SecretsKey;
  readonly backend: BackendSettings;
  readonly roles: OperatorRoles;
}

const IAM_READ_ACTIONS = [
  'iam:GetRole', 'iam:ListRolePolicies', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies', 'iam:ListInstanceProfilesForRole',
  'iam:ListRoleTags', 'iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions', 'iam:ListPolicyTags', 'iam:ListEntitiesForPolicy',
];
const IAM_WRITE_ACTIONS = [
  'iam:CreateRole', 'iam:DeleteRole', 'iam:UpdateRole', 'iam:UpdateRoleDescription', 'iam:UpdateAssumeRolePolicy', 'iam:TagRole',
  'iam:UntagRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy',
  'iam:CreatePolicy', 'iam:DeletePolicy', 'iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion',
  'iam:TagPolicy', 'iam:UntagPolicy',
];

export class OperatorAccess extends Construct {
  /** The managed policies, as deployed. */
  readonly deployerPolicy: PolicyDocument;
  readonly ciPlanPolicy: PolicyDocument;
  readonly developerPolicy: PolicyDocument;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { env, partition, bucket, key } = props;
    const iamArn = (kind: 'role' | 'policy', name: string) => `arn:${partition}:iam::${key.accountId}:${kind}/${name}`;
    const envIamResources = [iamArn('role', iamNamePattern(env)), iamArn('policy', iamNamePattern(env))];
    const state = stateStatements(props.backend, env, partition);
    const reads: PolicyStatement[] = [
      ...bucket.readStatements(),
      ...key.readStatements(),
      { Sid: 'ReadIam', Effect: 'Allow', Action: IAM_READ_ACTIONS, Resource: envIamResources },
    ];
    const neverChangeInfrastructure: PolicyStatement[] = [
      key.denyCryptoStatement(),
      key.denyAdministerStatement(),
      bucket.denyConfigureStatement(),
      { Sid: 'NeverWriteIam', Effect: 'Deny', Action: IAM_WRITE_ACTIONS, Resource: envIamResources },
    ];

    // Ciphertext changes only: what a refresh reads, object puts and deletes, and its state.
    this.deployerPolicy = policyDocument([...reads, ...bucket.writeObjectStatements(), ...state.readWrite, ...neverChangeInfrastructure]);
    this.ciPlanPolicy = policyDocument([...reads, ...state.readAndLock, ...neverChangeInfrastructure, bucket.denyWriteStatement()]);
    this.developerPolicy = policyDocument([
      key.encryptStatement(),
      { Sid: 'NeverDecrypt', Effect: 'Deny', Action: ['kms:Decrypt', 'kms:ReEncryptFrom'], Resource: '*' },
    ]);

    this.operator('deployer', iamName(env, 'deployer'), 'apply ciphertext changes: put and delete the env\'s objects; no IAM, key or bucket change, no KMS cryptographic action', this.deployerPolicy, props.roles.deployer);
    this.operator('ci-plan', iamName(env, 'ci-plan'), 'plan the stack: read-only, no KMS cryptographic action, no write', this.ciPlanPolicy, props.roles.ciPlan);
    this.operator('developer', iamName(env, 'developer-encrypt'), `encrypt secrets for env ${env}; never decrypt`, this.developerPolicy, props.roles.developer);
  }

  private operator(id: string, name: string, purpose: string, document: PolicyDocument, trust: RoleTrust | undefined): void {
    const scope = new Construct(this, id);
    const policy = new IamPolicy(scope, 'policy', { name, description: `kms-secrets: ${purpose}`, policy: JSON.stringify(document) });
    new TerraformOutput(scope, `${id.replace(/-/g, '_')}_policy_arn`, { staticId: true, value: policy.arn });
    if (!trust) return;
    const role = new IamRole(scope, 'role', { name, description: `kms-secrets: ${purpose}`, assumeRolePolicy: JSON.stringify(operatorTrust(trust)) });
    new IamRolePolicyAttachment(scope, 'attachment', { role: role.name, policyArn: policy.arn });
    new TerraformOutput(scope, `${id.replace(/-/g, '_')}_role_arn`, { staticId: true, value: role.arn });
  }
}

/** Access to the env's Terraform state when it is kept in S3; local state needs none. */
function stateStatements(backend: BackendSettings, env: string, partition: string): { readWrite: PolicyStatement[]; readAndLock: PolicyStatement[] } {
  if (backend.type !== 's3') return { readWrite: [], readAndLock: [] };
  const stateKey = `arn:${partition}:s3:::${backend.bucket}/${backend.keyPrefix}/${env}.tfstate`;
  const list: PolicyStatement = {
    Sid: 'ListState', Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:${partition}:s3:::${backend.bucket}`,
    Condition: { StringLike: { 's3:prefix': `${backend.keyPrefix}/${env}.tfstate*` } },
  };
  // A plan takes the S3-native lock, a <key>.tflock object, even though it writes no state.
  const lock: PolicyStatement = { Sid: 'LockState', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: `${stateKey}.tflock` };
  return {
    readWrite: [list, lock, { Sid: 'ReadWriteState', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: stateKey }],
    readAndLock: [list, lock, { Sid: 'ReadState', Effect: 'Allow', Action: 's3:GetObject', Resource: stateKey }],
  };
}
